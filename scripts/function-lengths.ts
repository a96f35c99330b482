// The longest functions in src/ (generated code aside), longest first: `tsx scripts/function-lengths.ts [N]`.
// A function should read without scrolling (docs/architecture.md); this is how to find the ones that do not.
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import ts from "typescript";

const files = execSync("git ls-files 'src/**/*.ts'", { encoding: "utf8" })
  .trim()
  .split("\n")
  .filter((f) => !f.includes("/generated/"));
const found: Array<[number, string]> = [];
const isFunction = (n: ts.Node): n is ts.FunctionLikeDeclaration =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isConstructorDeclaration(n);

for (const file of files) {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const visit = (n: ts.Node): void => {
    if (isFunction(n)) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const name = n.name?.getText() ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText() : "(anonymous)");
      found.push([last - first + 1, `${file}:${first + 1} ${name}`]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
found.sort((a, b) => b[0] - a[0]);
for (const [lines, where] of found.slice(0, Number(process.argv[2] ?? 20))) console.log(`${lines}\t${where}`);
