// Exports one agent run (GenAI semantic conventions) to firebreak with the real OpenTelemetry
// JS SDK. Usage: node export_run.js URL TOKEN http|proto
// "http" uses @opentelemetry/exporter-trace-otlp-http (OTLP JSON, gzip); "proto" uses
// @opentelemetry/exporter-trace-otlp-proto (protobuf, uncompressed). Every run gets fresh
// trace and span ids and times; the content is the same, so the hash must be too.
'use strict';
const api = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const [url, token, mode] = process.argv.slice(2);
if (!url || !token || !['http', 'proto'].includes(mode)) {
  console.error('usage: node export_run.js URL TOKEN http|proto');
  process.exit(2);
}

const options = {
  url: `${url}/v1/traces`,
  headers: { Authorization: `Bearer ${token}` },
};
let exporter;
if (mode === 'http') {
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
  exporter = new OTLPTraceExporter({ ...options, compression: 'gzip' });
} else {
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
  exporter = new OTLPTraceExporter(options);
}

const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'support-bot', 'service.version': 'v7' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('firebreak-ci-agent', '1.0.0');

const question = 'Please refund order A-1001, it arrived broken';
const answer = 'I have refunded 42.50 EUR for order A-1001 to your card.';
const messages = (role, text) => JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);

// No time passes between the steps: the JS SDK stamps spans in whole milliseconds, so the
// model calls and tool calls below start in the same millisecond, and Firebreak must order them
// by what they say, not by their random span ids, for both runs to hash the same (issue 11).
async function main() {
  const root = tracer.startSpan('invoke_agent support-bot', {
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'support-bot',
      'user.id': 'customer-314',
      'session.id': 'chat-' + Date.now(),
      'gen_ai.input.messages': messages('user', question),
    },
  });
  const ctx = api.trace.setSpan(api.context.active(), root);

  const plan = tracer.startSpan('chat gpt-4o', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.input.messages': messages('user', question),
      'gen_ai.output.messages': messages('assistant', 'I should check the order, then refund it.'),
      'gen_ai.usage.input_tokens': 310,
      'gen_ai.usage.output_tokens': 25,
    },
  }, ctx);
  plan.end();

  const lookup = tracer.startSpan('execute_tool lookup_order', {
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'lookup_order',
      'gen_ai.tool.call.id': 'call_' + Math.random().toString(36).slice(2),
      'gen_ai.tool.call.arguments': JSON.stringify({ order_id: 'A-1001' }),
      'gen_ai.tool.call.result': JSON.stringify({ status: 'delivered', amount: '42.50 EUR', damaged: true }),
    },
  }, ctx);
  lookup.end();

  const refund = tracer.startSpan('execute_tool issue_refund', {
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'issue_refund',
      'gen_ai.tool.call.id': 'call_' + Math.random().toString(36).slice(2),
      'gen_ai.tool.call.arguments': JSON.stringify({ order_id: 'A-1001', amount: '42.50', currency: 'EUR' }),
      'gen_ai.tool.call.result': JSON.stringify({ refund_id: 'R-77', ok: true }),
    },
  }, ctx);
  refund.end();

  const reply = tracer.startSpan('chat gpt-4o', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.output.messages': messages('assistant', answer),
      'gen_ai.usage.input_tokens': 420,
      'gen_ai.usage.output_tokens': 31,
    },
  }, ctx);
  reply.end();

  root.setAttribute('gen_ai.output.messages', messages('assistant', answer));
  root.end();

  await provider.forceFlush();
  await provider.shutdown();
  console.log(root.spanContext().traceId);
}

main().catch((err) => {
  console.error('export failed:', err);
  process.exit(1);
});
