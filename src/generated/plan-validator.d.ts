// generated from schemas/plan.schema.json by `npm run gen`; do not edit
import type { ErrorObject } from "ajv";
import type { Plan } from "./plan.ts";
declare const validate: ((data: unknown) => data is Plan) & { errors?: ErrorObject[] | null };
export default validate;
