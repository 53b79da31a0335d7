// Reads rendered Kubernetes objects (a YAML stream) on standard input and validates each against the Kubernetes
// API's OpenAPI schema with kubernetes-models, and the Prometheus Operator's objects (monitoring.coreos.com)
// against the Operator's published CRD schemas with @kubernetes-models/prometheus-operator. Prints one line per
// invalid object and exits 1 if any; otherwise prints how many objects were valid.
import { parseAllDocuments } from "yaml";

let input = "";
for await (const chunk of process.stdin) input += chunk;

const failures = [];
let valid = 0;
for (const document of parseAllDocuments(input)) {
  const object = document.toJS();
  if (!object) continue;
  const name = `${object.kind ?? "?"} ${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? "?"}`;
  let models;
  try {
    models = object.apiVersion?.startsWith("monitoring.coreos.com/")
      ? await import(`@kubernetes-models/prometheus-operator/${object.apiVersion}`)
      : await import(`kubernetes-models/${object.apiVersion}`);
  } catch {
    failures.push(`${name}: no schema for apiVersion ${object.apiVersion}`);
    continue;
  }
  const Model = models[object.kind];
  if (!Model) {
    failures.push(`${name}: ${object.apiVersion} has no kind ${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
    valid++;
  } catch (error) {
    failures.push(`${name}: ${error.message}`);
  }
}

for (const failure of failures) console.log(failure);
if (failures.length > 0) process.exit(1);
console.log(`${valid} objects valid`);
