/**
 * The components otel-lb ships, as one explicit list (no import-time registration, STYLE.md
 * §5): `createRegistry(builtinComponents)`.
 */

import { eraseDefinition, type AnyComponentDefinition } from '../runtime/component.ts';
import { basicAuthDefinition } from './auth/basic.ts';
import { bearerAuthDefinition } from './auth/bearer.ts';
import { headersAuthDefinition } from './auth/headers.ts';
import { debugExporterDefinition, loggingExporterDefinition } from './exporter-debug/definition.ts';
import { loadBalancingDefinition } from './exporter-loadbalancing/definition.ts';
import { exporterOtlpDefinition } from './exporter-otlp/definition.ts';
import { exporterOtlpHttpDefinition } from './exporter-otlphttp/definition.ts';
import { batchProcessorDefinition } from './processor-batch/definition.ts';
import { receiverOtlpDefinition } from './receiver-otlp/definition.ts';

export const builtinComponents: readonly AnyComponentDefinition[] = Object.freeze([
  eraseDefinition(receiverOtlpDefinition),
  eraseDefinition(loadBalancingDefinition),
  eraseDefinition(exporterOtlpDefinition),
  eraseDefinition(exporterOtlpHttpDefinition),
  eraseDefinition(debugExporterDefinition),
  eraseDefinition(loggingExporterDefinition),
  eraseDefinition(batchProcessorDefinition),
  eraseDefinition(basicAuthDefinition),
  eraseDefinition(bearerAuthDefinition),
  eraseDefinition(headersAuthDefinition),
]);
