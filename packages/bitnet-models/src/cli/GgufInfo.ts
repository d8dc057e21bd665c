import { BitnetModelError } from '../errors';
import { GgufFile } from '../gguf/GgufFile';
import { plainValue } from '../gguf/GgufMetadata';
import { GgufValueType } from '../gguf/GgufTypes';
import { ModelConfig, readModelConfig } from '../model/ModelConfig';
import { resolveModelTensors } from '../model/ModelTensors';
import { ggmlTypeName } from '../tensor/GgmlType';

/** Options of `describeGguf`. */
export interface GgufInfoOptions {
  /** Arrays longer than this are summarized (length + first items); default 16. Infinity for all. */
  maxArrayItems?: number;
}

/** The fields of a shortened metadata array in `GgufInfo.metadata`. */
export interface ShortenedArray {
  /** Element type (lower-case GGUF value type name). */
  array: string;
  /** How many items the array holds. */
  length: number;
  /** Its first items. */
  first: unknown[];
}

/** What `describeGguf` reports about a file. */
export interface GgufInfo {
  file?: string;
  version: number;
  alignment: number;
  fileSize: number;
  dataOffset: number;
  tensorCount: number;
  tensorBytes: number;
  metadata: Record<string, unknown>;
  tensors: Array<{ name: string; type: string; dims: number[]; elements: number; bytes: number; offset: number }>;
  /** The BitNet model described by the file, or why it is not one this project can run. */
  model: { config: ModelConfig; tiedOutput: boolean; projectionType: string; parameters: number } | { error: string };
}

/** A JSON-friendly description of a GGUF file (what `bitnet-gguf info` prints). */
export function describeGguf(f: GgufFile, options: GgufInfoOptions = {}): GgufInfo {
  const maxItems = options.maxArrayItems ?? 16;
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of f.metadata.entries()) {
    if (v.type === GgufValueType.ARRAY && v.value.length > maxItems) {
      metadata[k] = {
        array: GgufValueType[v.elementType].toLowerCase(),
        length: v.value.length,
        first: (plainValue(v) as unknown[]).slice(0, Math.min(maxItems, 8)),
      };
    } else {
      metadata[k] = plainValue(v);
    }
  }
  let model: GgufInfo['model'];
  try {
    const config = readModelConfig(f.metadata);
    const t = resolveModelTensors(config, f.tensors);
    const parameters = f.tensors.reduce((s, x) => s + x.elementCount, 0);
    model = { config, tiedOutput: t.tiedOutput, projectionType: t.projectionType === 'mixed' ? 'mixed' : ggmlTypeName(t.projectionType), parameters };
  } catch (e) {
    if (!(e instanceof BitnetModelError)) throw e;
    model = { error: e.message };
  }
  return {
    file: f.path,
    version: f.version,
    alignment: f.alignment,
    fileSize: f.fileSize,
    dataOffset: f.dataOffset,
    tensorCount: f.tensors.length,
    tensorBytes: f.tensorBytes,
    metadata,
    tensors: f.tensors.map((t) => ({
      name: t.name,
      type: ggmlTypeName(t.type),
      dims: t.dims,
      elements: t.elementCount,
      bytes: t.byteSize,
      offset: t.offset,
    })),
    model,
  };
}

function isShortened(v: unknown): v is ShortenedArray {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'array' in v && 'length' in v && 'first' in v;
}

/** Human-readable rendering of describeGguf's result. */
export function formatGgufInfo(info: GgufInfo): string {
  const lines: string[] = [];
  lines.push(`file:        ${info.file ?? '(memory)'}`);
  lines.push(`gguf:        v${info.version}, alignment ${info.alignment}, ${info.fileSize} bytes, data at ${info.dataOffset}`);
  lines.push(`tensors:     ${info.tensorCount} (${(info.tensorBytes / 1e6).toFixed(2)} MB)`);
  if ('error' in info.model) {
    lines.push(`model:       not runnable: ${info.model.error}`);
  } else {
    const c = info.model.config;
    lines.push(
      `model:       ${c.name ?? '(unnamed)'} — ${c.architectureName} (${c.ffnActivation}), ${info.model.projectionType} projections, ` +
        `${(info.model.parameters / 1e6).toFixed(1)}M parameters`,
    );
    lines.push(
      `             dim ${c.embeddingLength}, ff ${c.feedForwardLength}, ${c.blockCount} layers, ${c.headCount}/${c.headCountKv} heads ` +
        `(head ${c.headDim}), vocab ${c.vocabSize}, context ${c.contextLength}, rope base ${+c.ropeFreqBase.toPrecision(7)}, eps ${+c.rmsNormEps.toPrecision(6)}` +
        `${info.model.tiedOutput ? ', tied output' : ''}`,
    );
  }
  lines.push('', 'metadata:');
  let shortened = false;
  for (const [k, v] of Object.entries(info.metadata)) {
    if (isShortened(v)) {
      shortened = true;
      const shown = v.first.map((x) => JSON.stringify(x)).join(', ');
      lines.push(`  ${k} = [${shown}, … ${v.length - v.first.length} more] (${v.array} × ${v.length})`);
    } else {
      lines.push(`  ${k} = ${JSON.stringify(v)}`);
    }
  }
  if (shortened) lines.push('  (long arrays shortened; --full prints them whole)');
  lines.push('', 'tensors:');
  const nameW = Math.max(4, ...info.tensors.map((t) => t.name.length));
  lines.push(`  ${'name'.padEnd(nameW)}  ${'type'.padEnd(6)}  ${'shape'.padEnd(18)}  ${'bytes'.padStart(12)}  ${'offset'.padStart(12)}`);
  for (const t of info.tensors) {
    lines.push(
      `  ${t.name.padEnd(nameW)}  ${t.type.padEnd(6)}  ${`[${t.dims.join(', ')}]`.padEnd(18)}  ${String(t.bytes).padStart(12)}  ${String(t.offset).padStart(12)}`,
    );
  }
  return lines.join('\n');
}
