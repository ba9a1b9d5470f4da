// GraphQL Code Generator: the schema comes from the running server by
// introspection (a staff token is needed), the operations from graphql/.
import type { CodegenConfig } from "@graphql-codegen/cli";

const url = process.env.RAPPORT_URL ?? "http://127.0.0.1:8080";
const token = process.env.RAPPORT_TOKEN ?? "";

const config: CodegenConfig = {
  schema: [{ [`${url}/graphql`]: { headers: { Authorization: `Bearer ${token}` } } }],
  documents: ["graphql/*.graphql"],
  generates: {
    "generated/graphql.ts": {
      plugins: ["typescript", "typescript-operations"],
      config: {
        strictScalars: true,
        enumsAsTypes: true,
        scalars: {
          MinorUnits: "string",
          DateTime: "string",
          NaiveDate: "string",
          UUID: "string",
          JSON: "unknown",
          JSONObject: "Record<string, string>",
        },
      },
    },
  },
};

export default config;
