module plan-runner.local/images/pause

go 1.22
