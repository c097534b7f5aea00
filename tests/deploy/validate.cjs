// Validates rendered Kubernetes manifests (kubectl kustomize output) offline.
//
// Schema: every object is type-checked against kubernetes-types, the API
// types generated from Kubernetes' OpenAPI definitions, with TypeScript's
// excess-property check: a misspelt field, a wrong type or a missing required
// field fails, naming the object and the field.
// Policy: what phonebus promises about its own workloads (non-root, read-only
// root, no capabilities, probes, requests and limits; in production also
// replicas spread over nodes, disruption budgets and autoscalers).
//
//   node validate.cjs [--production] rendered.yaml...
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');
const YAML = require('yaml');

const args = process.argv.slice(2);
const production = args.includes('--production');
const files = args.filter((a) => !a.startsWith('--'));
const docs = [];
for (const file of files) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj) docs.push(obj);
  }
}
const name = (o) => `${o.kind}/${o.metadata && o.metadata.name}`;
const problems = [];

// --- schema -----------------------------------------------------------------
const typesDir = path.dirname(require.resolve('kubernetes-types/package.json'));
function typesModule(apiVersion) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const module = `${group.replace(/\.k8s\.io$/, '')}/${version}`;
  return fs.existsSync(path.join(typesDir, `${module}.d.ts`)) ? module : null;
}
const lines = [];
docs.forEach((o, i) => {
  const module = o.apiVersion && o.kind ? typesModule(o.apiVersion) : null;
  if (!module) {
    problems.push(`${name(o)}: no Kubernetes API type for apiVersion ${o.apiVersion}`);
    lines.push('');
    return;
  }
  // One object per line: a diagnostic's line number names the object.
  lines.push(`import type { ${o.kind} as T${i} } from 'kubernetes-types/${module}'; ` +
             `export const o${i}: T${i} = ${JSON.stringify(o)};`);
});
const source = path.join(process.cwd(), 'manifests.check.ts');
fs.writeFileSync(source, lines.join('\n') + '\n');
const program = ts.createProgram([source], {
  strict: true, noEmit: true, skipLibCheck: true, types: [],
  module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
});
for (const d of ts.getPreEmitDiagnostics(program)) {
  const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
  const what = ts.flattenDiagnosticMessageText(d.messageText, ' ');
  if (!where || d.file.fileName !== source) {
    problems.push(what);
    continue;
  }
  // TypeScript points at the offending property's name.
  const field = lines[where.line].substr(where.character, d.length);
  problems.push(`${name(docs[where.line])} field ${field}: ${what}`);
}
fs.unlinkSync(source);

// --- policy -----------------------------------------------------------------
const workloads = docs.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
const ours = workloads.filter((o) => o.metadata.name.startsWith('phonebus-'));
const expect = (ok, message) => ok || problems.push(message);
expect(ours.length === 2, `expected the adapter and commander workloads, found ${ours.map(name)}`);
for (const w of ours) {
  const pod = w.spec.template.spec;
  expect(pod.securityContext && pod.securityContext.runAsNonRoot === true,
         `${name(w)}: pod must run as non-root`);
  expect(pod.automountServiceAccountToken === false,
         `${name(w)}: needs no Kubernetes API token`);
  for (const c of pod.containers) {
    const sc = c.securityContext || {};
    expect(sc.readOnlyRootFilesystem === true, `${name(w)} ${c.name}: root filesystem must be read-only`);
    expect(sc.allowPrivilegeEscalation === false, `${name(w)} ${c.name}: privilege escalation allowed`);
    expect(sc.capabilities && JSON.stringify(sc.capabilities.drop) === '["ALL"]',
           `${name(w)} ${c.name}: must drop all capabilities`);
    expect(c.readinessProbe && c.livenessProbe, `${name(w)} ${c.name}: needs readiness and liveness probes`);
    const r = c.resources || {};
    expect(r.requests && r.requests.cpu && r.requests.memory && r.limits && r.limits.memory,
           `${name(w)} ${c.name}: needs cpu/memory requests and a memory limit`);
  }
}
for (const w of workloads) {
  const scraped = w.spec.template.metadata.annotations || {};
  expect(scraped['prometheus.io/scrape'] === 'true', `${name(w)}: not scraped by Prometheus`);
}
const adapterService = docs.find((o) => o.kind === 'Service' && o.metadata.name === 'phonebus-adapter');
expect(adapterService && adapterService.spec.externalTrafficPolicy === 'Local',
       'Service/phonebus-adapter: externalTrafficPolicy must be Local (phones\' addresses)');
if (production) {
  for (const w of workloads) {
    const n = w.metadata.name;
    expect(w.spec.replicas > 1, `${name(w)}: production runs more than one replica`);
    const anti = (w.spec.template.spec.affinity || {}).podAntiAffinity;
    expect(anti, `${name(w)}: replicas must be spread over nodes (podAntiAffinity)`);
    expect(docs.some((o) => o.kind === 'PodDisruptionBudget' &&
                            o.spec.selector.matchLabels['app.kubernetes.io/name'] === n),
           `${name(w)}: no PodDisruptionBudget`);
  }
  for (const w of ours) {
    expect(docs.some((o) => o.kind === 'HorizontalPodAutoscaler' &&
                            o.spec.scaleTargetRef.name === w.metadata.name),
           `${name(w)}: no HorizontalPodAutoscaler`);
  }
  const adapter = ours.find((o) => o.metadata.name === 'phonebus-adapter');
  expect(adapter && (adapter.spec.volumeClaimTemplates || []).some((v) => v.metadata.name === 'outbox') &&
         !adapter.spec.template.spec.volumes.some((v) => v.name === 'outbox'),
         'StatefulSet/phonebus-adapter: production keeps the outbox on a persistent volume');
  const env = adapter ? adapter.spec.template.spec.containers[0].env || [] : [];
  expect(env.some((e) => e.name === 'PHONEBUS_DURABILITY' && e.value === 'fsync'),
         'StatefulSet/phonebus-adapter: production syncs the outbox before answering (durability fsync)');
}

if (problems.length) {
  for (const p of problems) console.error(`invalid: ${p}`);
  process.exit(1);
}
console.log(`valid: ${docs.length} objects (${[...new Set(docs.map((o) => o.kind))].join(', ')})`);
