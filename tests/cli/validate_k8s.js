// Validates every object of the Kubernetes manifests named on the command
// line ("-": stdin) against the API schemas in the npm package
// kubernetes-models (scripts/fetch_k8s_models.sh installs it; run with
// NODE_PATH=<its node_modules>). Fails on YAML errors, objects without
// apiVersion/kind/metadata.name, kinds the package does not know, and schema
// violations. Prints one line per object, then a JSON summary line.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

function modelFor(apiVersion, kind) {
  // "v1" or "group/version"; nothing that could leave the package.
  if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) return null;
  let module;
  try {
    module = require(`kubernetes-models/${apiVersion}`);
  } catch (e) {
    return null;
  }
  return Object.prototype.hasOwnProperty.call(module, kind) ? module[kind] : null;
}

let failures = 0;
const kinds = {};
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      console.log(`FAIL ${file}: YAML: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;  // an empty document
    const where = `${file}: ${object.kind}/${object.metadata && object.metadata.name}`;
    if (typeof object.apiVersion !== "string" || typeof object.kind !== "string" ||
        !object.metadata || typeof object.metadata.name !== "string") {
      console.log(`FAIL ${where}: needs apiVersion, kind and metadata.name`);
      failures++;
      continue;
    }
    const Model = modelFor(object.apiVersion, object.kind);
    if (Model === null) {
      console.log(`FAIL ${where}: unknown kind ${object.apiVersion} ${object.kind}`);
      failures++;
      continue;
    }
    try {
      new Model(object).validate();
      console.log(`ok   ${where}`);
      kinds[object.kind] = (kinds[object.kind] || 0) + 1;
    } catch (e) {
      console.log(`FAIL ${where}: ${e.message}`);
      failures++;
    }
  }
}
const objects = Object.values(kinds).reduce((a, b) => a + b, 0);
if (objects === 0 && failures === 0) {
  console.log("FAIL no objects");
  failures++;
}
console.log(JSON.stringify({objects, failures, kinds}));
process.exit(failures === 0 ? 0 : 1);
