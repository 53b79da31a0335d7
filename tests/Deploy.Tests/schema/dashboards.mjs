// Checks Grafana dashboards (JSON files given as arguments) against Grafana's published Dashboard schema: each
// becomes a TypeScript constant of that type, compiled with --strict, so an unknown key, a wrong type or a bad
// enum value fails. Exits with the compiler's status and prints its errors.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

let source = `import type { AnnotationQuery, Dashboard, VariableModel } from "@grafana/schema";

// JSON holds the values of Grafana's string enums, not the enums: compare with those values.
type Plain<T> = T extends string ? \`\${T}\` : T extends number ? number : T extends boolean ? boolean
  : T extends Array<infer U> ? Array<Plain<U>> : T extends object ? { [K in keyof T]: Plain<T[K]> } : T;

// Prometheus annotations keep their query at the annotation's top level, as Grafana itself writes them; the
// schema has only a generic \`target\`. These fields, and no others, are allowed on top of it.
type PrometheusAnnotation = Plain<AnnotationQuery> & {
  expr?: string; step?: string; titleFormat?: string; textFormat?: string; tagKeys?: string; useValueForTime?: boolean;
};
// Grafana writes a query variable's query as text in \`definition\` too (its editor shows it); allowed as well.
type QueryVariable = Plain<VariableModel> & { definition?: string };
type Checked = Omit<Plain<Dashboard>, "annotations" | "templating"> & {
  annotations?: { list?: PrometheusAnnotation[] };
  templating?: { list?: QueryVariable[] };
};
`;
for (const file of process.argv.slice(2)) {
  source += `export const ${basename(file).replace(/\W/g, "_")}: Checked = ${readFileSync(file, "utf8")};\n`;
}
// Below this folder, so that "@grafana/schema" resolves to its node_modules.
mkdirSync(join(import.meta.dirname, ".generated"), { recursive: true });
const work = mkdtempSync(join(import.meta.dirname, ".generated", "dashboards-"));
const program = join(work, "dashboards.ts");
writeFileSync(program, source);
try {
  execFileSync(process.execPath, [join(import.meta.dirname, "node_modules", "typescript", "bin", "tsc"),
    "--noEmit", "--strict", "--skipLibCheck", "--moduleResolution", "bundler", "--module", "esnext", "--target", "es2022", program],
    { stdio: "inherit", cwd: import.meta.dirname });
  console.log(`${process.argv.length - 2} dashboards match Grafana's schema`);
} catch {
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
