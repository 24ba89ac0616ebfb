// Exports N spans with a real OpenTelemetry JS exporter, configured ONLY by the environment variables the
// seeds use: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY,
// OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE (plus, optionally, the standard OTEL_EXPORTER_OTLP_TIMEOUT).
//
//   node export-spans.mjs --exporter grpc|proto|http --spans N
//
// Prints one JSON line {exporter, exported, result, error?} and exits 0 only when every export call
// returned SUCCESS and exactly N spans were exported; 1 otherwise; 2 on usage errors.
//
// Where the TLS settings come from (checked in node_modules, @opentelemetry/* 0.223.x):
// - grpc: @opentelemetry/otlp-grpc-exporter-base/build/src/configuration/otlp-grpc-env-configuration.js reads
//   OTEL_EXPORTER_OTLP_ENDPOINT and the CERTIFICATE / CLIENT_KEY / CLIENT_CERTIFICATE files itself and builds
//   grpc.credentials.createSsl(ca, key, cert) for an https:// endpoint.
// - proto and http (json): @opentelemetry/otlp-exporter-base/build/src/configuration/otlp-node-http-env-configuration.js
//   reads the same three files into the https agent options {ca, cert, key} itself, and appends `/v1/traces`
//   to OTEL_EXPORTER_OTLP_ENDPOINT as the specification requires.
// So this script passes NO configuration in code: no url, no credentials, no httpAgentOptions. Passing
// httpAgentOptions would even replace the agent built from the environment. If a future exporter version stops
// reading these variables, the export fails (the server requires a client certificate) and the tests say so.

import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { randomUUID } from 'node:crypto';

// ExportResultCode from @opentelemetry/core: SUCCESS = 0, FAILED = 1.
const SUCCESS = 0;

function usage(message) {
  process.stderr.write(`${message}\nusage: node export-spans.mjs --exporter grpc|proto|http --spans N\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { exporter: undefined, spans: undefined };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    if (name === '--exporter') { args.exporter = value; i++; }
    else if (name === '--spans') { args.spans = Number.parseInt(value ?? '', 10); i++; }
    else usage(`unknown argument: ${name}`);
  }
  if (!['grpc', 'proto', 'http'].includes(args.exporter ?? '')) usage('--exporter must be grpc, proto or http');
  if (!Number.isInteger(args.spans) || args.spans < 1) usage('--spans must be a positive integer');
  return args;
}

function createExporter(kind) {
  // Deliberately no options: everything comes from OTEL_EXPORTER_OTLP_* (see the header comment).
  switch (kind) {
    case 'grpc': return new GrpcExporter();
    case 'proto': return new ProtoExporter();
    default: return new HttpJsonExporter();
  }
}

/** Wraps the real exporter and records what every export call reported. */
class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.exported = 0;
    this.failures = [];
    this.calls = 0;
  }

  export(spans, resultCallback) {
    this.calls++;
    this.inner.export(spans, result => {
      if (result.code === SUCCESS) this.exported += spans.length;
      else this.failures.push(result.error ? String(result.error.message ?? result.error) : `code ${result.code}`);
      resultCallback(result);
    });
  }

  forceFlush() { return this.inner.forceFlush?.() ?? Promise.resolve(); }
  shutdown() { return this.inner.shutdown(); }
}

async function main() {
  const { exporter: kind, spans } = parseArgs(process.argv.slice(2));
  const runId = randomUUID();
  const recorder = new RecordingExporter(createExporter(kind));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `traceseal-interop-js-${kind}` }),
    // Queue holds every span, so none is dropped; forceFlush below drains it in batches of 512.
    spanProcessors: [new BatchSpanProcessor(recorder, { maxQueueSize: Math.max(2048, spans), maxExportBatchSize: 512, scheduledDelayMillis: 60_000 })],
  });
  // Instrument through the API, as applications do.
  trace.setGlobalTracerProvider(provider);
  const tracer = trace.getTracer('traceseal-interop');
  for (let i = 0; i < spans; i++) {
    const span = tracer.startSpan(`interop-span-${i}`, { attributes: { 'traceseal.interop.run': runId, 'traceseal.interop.index': i } });
    span.end();
  }

  let flushError;
  try {
    await provider.forceFlush();
  } catch (err) {
    flushError = String(err?.message ?? err);
  }
  await provider.shutdown().catch(() => {});

  const ok = flushError === undefined && recorder.failures.length === 0 && recorder.exported === spans;
  const line = { exporter: kind, run: runId, requested: spans, exported: recorder.exported, result: ok ? 'SUCCESS' : 'FAILED' };
  const errors = [...new Set([...recorder.failures, ...(flushError ? [flushError] : [])])];
  if (errors.length > 0) line.error = errors.join('; ');
  process.stdout.write(JSON.stringify(line) + '\n');
  // The grpc channel may keep the event loop alive for a while; the result is known, so leave now.
  process.exit(ok ? 0 : 1);
}

main().catch(err => {
  process.stdout.write(JSON.stringify({ exported: 0, result: 'FAILED', error: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});
