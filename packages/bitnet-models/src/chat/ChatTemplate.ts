/**
 * Chat prompt formats for BitNet b1.58 2B4T and LLaMA-3-style models.
 *
 * Like llama.cpp's built-in templates (llama_chat_apply_template), the text never contains the BOS
 * token: tokenizing the prompt with the model's add_bos_token adds it. Tokenize prompts with
 * `parseSpecial: true` so that "<|eot_id|>" etc. become their special tokens, and stop generating
 * when `tokenizer.isEndOfGeneration(id)`.
 *
 * Formats:
 * - 'bitnet': the template of the 2B4T model repository (tokenizer_config.json), which the model was
 *   trained with: every message is "<Role>: <content><|eot_id|>" (role capitalised), and the
 *   generation prompt is "Assistant: ".
 *     System: You are helpful.<|eot_id|>User: Hi<|eot_id|>Assistant: Hello!<|eot_id|>User: Bye<|eot_id|>Assistant: 
 * - 'bitnet-cpp': byte for byte what bitnet.cpp's own llama.cpp fork builds for its "bitnet" template
 *   (selected for the released GGUF, whose placeholder template contains "BITNET"): "System: " +
 *   content with no terminator, "User: " + content + "<|eot_id|>Assistant: " for every user
 *   message (so the generation prompt is always present), assistant content with no terminator.
 * - 'llama3': llama.cpp's LLaMA-3 template: "<|start_header_id|>role<|end_header_id|>\n\n" + content
 *   with ASCII whitespace trimmed + "<|eot_id|>", generation prompt
 *   "<|start_header_id|>assistant<|end_header_id|>\n\n".
 * - 'plain': the fallback for a model whose vocabulary lacks the special tokens its template needs
 *   (the bundled KJV model has no <|eot_id|>). Ordinary text only, one message per line:
 *   "<Role>: <content>\n" (role capitalised), generation prompt "Assistant:" (no trailing space: the
 *   reply's first token carries its own). A reply ends at the model's end-of-generation token or at
 *   the stop string "\nUser:" (`chatStopStrings('plain')`), where the model starts the next turn.
 *     System: Be brief.\nUser: Hi\nAssistant: Hello!\nUser: Bye\nAssistant:
 *   `selectChatFormat` picks it automatically.
 */
import { TokenizerError } from '../errors';
import type { GgufMetadata } from '../gguf/GgufMetadata';
import { stringListIndexOf } from '../gguf/GgufStringArray';
import type { Tokenizer } from '../tokenizer/Tokenizer';

/** The author of a chat message. */
export type ChatRole = 'system' | 'user' | 'assistant';

/** One message of a conversation. */
export interface ChatMessage {
  /** Who wrote it. */
  readonly role: ChatRole;
  /** Its text. */
  readonly content: string;
}

/** A chat prompt format (see the module comment for what each renders). */
export type ChatFormat = 'bitnet' | 'bitnet-cpp' | 'llama3' | 'plain';

/** Options of `applyChatTemplate` and `encodeChat`. */
export interface ApplyChatTemplateOptions {
  /** End with the assistant's turn header so the model writes the reply. Default true. */
  readonly addGenerationPrompt?: boolean;
}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant']);

function checkMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new TokenizerError('chat messages must be an array');
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || !ROLES.has(m.role)) {
      throw new TokenizerError(`chat message ${i} has role ${JSON.stringify(m?.role)}; expected 'system', 'user' or 'assistant'`);
    }
    if (typeof m.content !== 'string') throw new TokenizerError(`chat message ${i} content must be a string`);
  });
}

/** C's isspace() in the "C" locale: what llama.cpp's trim() removes. */
function trimAsciiSpace(s: string): string {
  return s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}

function capitalize(role: string): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/** Render a conversation as prompt text in the given format. */
export function applyChatTemplate(messages: readonly ChatMessage[], format: ChatFormat, options: ApplyChatTemplateOptions = {}): string {
  checkMessages(messages);
  const addGenerationPrompt = options.addGenerationPrompt ?? true;
  let out = '';
  switch (format) {
    case 'bitnet':
      for (const m of messages) out += `${capitalize(m.role)}: ${m.content}<|eot_id|>`;
      if (addGenerationPrompt) out += 'Assistant: ';
      return out;
    case 'bitnet-cpp':
      for (const m of messages) {
        if (m.role === 'system') out += `System: ${m.content}`;
        else if (m.role === 'user') out += `User: ${m.content}<|eot_id|>Assistant: `;
        else out += m.content;
      }
      return out;
    case 'llama3':
      for (const m of messages) out += `<|start_header_id|>${m.role}<|end_header_id|>\n\n${trimAsciiSpace(m.content)}<|eot_id|>`;
      if (addGenerationPrompt) out += '<|start_header_id|>assistant<|end_header_id|>\n\n';
      return out;
    case 'plain':
      for (const m of messages) out += `${capitalize(m.role)}: ${m.content}\n`;
      if (addGenerationPrompt) out += 'Assistant:';
      return out;
    default:
      throw new TokenizerError(`unknown chat format ${JSON.stringify(format)}; expected 'bitnet', 'bitnet-cpp', 'llama3' or 'plain'`);
  }
}

/**
 * The chat format of a model, from `tokenizer.chat_template` when it names one we know, else from
 * the architecture and vocabulary. Undefined when neither says.
 */
export function detectChatFormat(md: GgufMetadata): ChatFormat | undefined {
  const template = md.has('tokenizer.chat_template') ? md.optString('tokenizer.chat_template') : undefined;
  if (template) {
    const has = (s: string) => template.includes(s);
    if (has('<|start_header_id|>') && has('<|end_header_id|>') && !has('<|im_start|>')) return 'llama3';
    // the released 2B4T GGUF carries a placeholder template marked "BITNET"; the model repository's
    // template capitalises roles and ends messages with <|eot_id|>
    if (has('BITNET') || (has('capitalize') && has('<|eot_id|>') && has('Assistant: '))) return 'bitnet';
  }
  const arch = md.has('general.architecture') ? md.optString('general.architecture') : undefined;
  if (arch === 'bitnet-b1.58' || arch === 'bitnet-25') return 'bitnet';
  // read in place: a LLaMA-3 vocabulary as JS strings would be ~5 MB of garbage on the loading thread
  const tokens = md.has('tokenizer.ggml.tokens') ? md.optStringList('tokenizer.ggml.tokens') : undefined;
  if (tokens && stringListIndexOf(tokens, '<|start_header_id|>') >= 0 && stringListIndexOf(tokens, '<|end_header_id|>') >= 0) return 'llama3';
  return undefined;
}

/** Render and tokenize a conversation (special tokens parsed, BOS per the model). */
export function encodeChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], format: ChatFormat, options: ApplyChatTemplateOptions = {}): number[] {
  return tokenizer.encode(applyChatTemplate(messages, format, options), { parseSpecial: true });
}

/** The special tokens each format writes into its prompts. */
const FORMAT_TOKENS: Readonly<Record<ChatFormat, readonly string[]>> = {
  bitnet: ['<|eot_id|>'],
  'bitnet-cpp': ['<|eot_id|>'],
  llama3: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
  plain: [],
};

/**
 * Whether the tokenizer's vocabulary has every special token the format writes (a format whose
 * tokens are missing would be tokenized as ordinary text, which the model never saw).
 */
export function chatFormatFits(tokenizer: Tokenizer, format: ChatFormat): boolean {
  return FORMAT_TOKENS[format].every((t) => {
    const id = tokenizer.tokenId(t);
    return id !== undefined && tokenizer.isSpecial(id);
  });
}

/**
 * The chat format to use with a model: the one its metadata asks for (`detectChatFormat`) when the
 * vocabulary has that format's special tokens, else `'plain'`.
 */
export function selectChatFormat(md: GgufMetadata, tokenizer: Tokenizer): ChatFormat {
  const wanted = detectChatFormat(md);
  return wanted !== undefined && chatFormatFits(tokenizer, wanted) ? wanted : 'plain';
}

/**
 * Stop strings a reply in this format needs besides the model's end-of-generation tokens: for
 * `'plain'`, "\nUser:" (the model going on to write the user's next turn); none for the others.
 */
export function chatStopStrings(format: ChatFormat): string[] {
  return format === 'plain' ? ['\nUser:'] : [];
}
