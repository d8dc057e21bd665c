import { TokenizerError } from '../errors';
import { GgufMetadata, gguf } from '../gguf/GgufMetadata';
import { GgufStringArray } from '../gguf/GgufStringArray';
import { llama3Metadata } from '../testing/llama3Vocab';
import { createTokenizer } from '../tokenizer/createTokenizer';
import type { Tokenizer } from '../tokenizer/Tokenizer';
import { spmMetadata } from '../testing/spmVocab';
import { applyChatTemplate, chatFormatFits, chatStopStrings, detectChatFormat, encodeChat, selectChatFormat, type ChatMessage } from './ChatTemplate';

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is 2+2?' },
  { role: 'assistant', content: '4' },
  { role: 'user', content: ' And 3+3? ' },
];

describe('chat templates', () => {
  it("renders the BitNet 2B4T format (model repository's template)", () => {
    expect(applyChatTemplate(conversation, 'bitnet')).toBe(
      'System: You are a helpful assistant.<|eot_id|>User: What is 2+2?<|eot_id|>Assistant: 4<|eot_id|>User:  And 3+3? <|eot_id|>Assistant: ',
    );
    expect(applyChatTemplate(conversation.slice(0, 2), 'bitnet', { addGenerationPrompt: false })).toBe(
      'System: You are a helpful assistant.<|eot_id|>User: What is 2+2?<|eot_id|>',
    );
  });

  it("renders bitnet.cpp's built-in 'bitnet' template byte for byte", () => {
    expect(applyChatTemplate(conversation, 'bitnet-cpp')).toBe(
      'System: You are a helpful assistant.User: What is 2+2?<|eot_id|>Assistant: 4User:  And 3+3? <|eot_id|>Assistant: ',
    );
  });

  it("renders llama.cpp's LLaMA-3 template (content trimmed, no BOS text)", () => {
    expect(applyChatTemplate(conversation, 'llama3')).toBe(
      '<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(applyChatTemplate([{ role: 'user', content: 'hi' }], 'llama3', { addGenerationPrompt: false })).toBe('<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>');
  });

  it("renders the 'plain' fallback with ordinary text only", () => {
    expect(applyChatTemplate(conversation, 'plain')).toBe('System: You are a helpful assistant.\nUser: What is 2+2?\nAssistant: 4\nUser:  And 3+3? \nAssistant:');
    expect(applyChatTemplate([{ role: 'user', content: 'hi' }], 'plain', { addGenerationPrompt: false })).toBe('User: hi\n');
    expect(chatStopStrings('plain')).toEqual(['\nUser:']);
    expect(chatStopStrings('bitnet')).toEqual([]);
  });

  describe('selectChatFormat', () => {
    it('keeps the detected format when the vocabulary has its special tokens', () => {
      const md = llama3Metadata({});
      const tok = createTokenizer(md);
      expect(chatFormatFits(tok, 'bitnet')).toBe(true);
      expect(chatFormatFits(tok, 'llama3')).toBe(true);
      expect(selectChatFormat(md, tok)).toBe('bitnet');
      expect(selectChatFormat(llama3Metadata({ architecture: 'llama' }), tok)).toBe('llama3');
    });

    it("falls back to 'plain' when the special tokens are missing or no format is named", () => {
      const md = spmMetadata();
      const tok = createTokenizer(md);
      expect(chatFormatFits(tok, 'bitnet')).toBe(false);
      expect(chatFormatFits(tok, 'plain')).toBe(true);
      expect(selectChatFormat(md, tok)).toBe('plain'); // names no format
      md.set('general.architecture', gguf.str('bitnet-b1.58'));
      expect(detectChatFormat(md)).toBe('bitnet');
      expect(selectChatFormat(md, tok)).toBe('plain'); // asks for 'bitnet', has no <|eot_id|>
    });
  });

  it('rejects unknown roles and formats', () => {
    expect(() => applyChatTemplate([{ role: 'tool' as 'user', content: 'x' }], 'bitnet')).toThrow(TokenizerError);
    expect(() => applyChatTemplate([{ role: 'user', content: 1 as unknown as string }], 'bitnet')).toThrow(/content must be a string/);
    expect(() => applyChatTemplate([], 'chatml' as 'bitnet')).toThrow(/unknown chat format/);
    expect(applyChatTemplate([], 'bitnet')).toBe('Assistant: ');
  });

  describe('with the LLaMA-3 vocabulary', () => {
    let tok: Tokenizer;
    beforeAll(() => {
      tok = createTokenizer(llama3Metadata({}));
    });

    it('tokenizes a BitNet prompt with BOS and the special tokens', () => {
      // "<|begin_of_text|>" "User" ":" " hi" "<|eot_id|>" "Assistant" ":" " "
      expect(encodeChat(tok, [{ role: 'user', content: 'hi' }], 'bitnet')).toEqual([128000, 1502, 25, 15960, 128009, 72803, 25, 220]);
    });

    it('tokenizes a LLaMA-3 prompt and ends turns on <|eot_id|>', () => {
      const ids = encodeChat(tok, [{ role: 'user', content: 'Hello' }], 'llama3');
      // BOS, header(user), "\n\n", "Hello", eot, header(assistant), "\n\n"
      expect(ids).toEqual([128000, 128006, 882, 128007, 271, 9906, 128009, 128006, 78191, 128007, 271]);
      expect(tok.isEndOfGeneration(128009)).toBe(true);
      expect(tok.isEndOfGeneration(128001)).toBe(true);
      expect(tok.isEndOfGeneration(128008)).toBe(true); // <|eom_id|>
      expect(tok.isEndOfGeneration(128006)).toBe(false);
      expect(tok.isEndOfGeneration(9906)).toBe(false);
    });
  });

  describe('detectChatFormat', () => {
    const md = (entries: Record<string, string | string[]>) => {
      const m = new GgufMetadata();
      for (const [k, v] of Object.entries(entries)) m.set(k, Array.isArray(v) ? gguf.strings(v) : gguf.str(v));
      return m;
    };

    it('reads tokenizer.chat_template', () => {
      // the placeholder template of the released 2B4T GGUF
      const placeholder =
        "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";
      expect(detectChatFormat(md({ 'tokenizer.chat_template': placeholder }))).toBe('bitnet');
      const official = "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}Assistant: {% endif %}";
      expect(detectChatFormat(md({ 'tokenizer.chat_template': official }))).toBe('bitnet');
      const llama3 = "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}{% endfor %}";
      expect(detectChatFormat(md({ 'tokenizer.chat_template': llama3, 'general.architecture': 'bitnet-b1.58' }))).toBe('llama3');
    });

    it('falls back to the architecture and the vocabulary', () => {
      expect(detectChatFormat(md({ 'general.architecture': 'bitnet-b1.58' }))).toBe('bitnet');
      expect(detectChatFormat(llama3Metadata({ architecture: 'bitnet-25' }))).toBe('bitnet');
      expect(detectChatFormat(llama3Metadata({ architecture: 'llama' }))).toBe('llama3');
      expect(detectChatFormat(md({ 'general.architecture': 'bitnet', 'tokenizer.ggml.tokens': ['a', 'b'] }))).toBeUndefined();
      expect(detectChatFormat(new GgufMetadata())).toBeUndefined();
    });

    it('looks the header tokens up in a packed vocabulary as read from a file', () => {
      const withTokens = (tokens: string[]) => {
        const m = md({ 'general.architecture': 'bitnet' });
        m.setStringArray('tokenizer.ggml.tokens', GgufStringArray.fromStrings(tokens));
        return m;
      };
      expect(detectChatFormat(withTokens(['a', '<|start_header_id|>', 'b', '<|end_header_id|>']))).toBe('llama3');
      expect(detectChatFormat(withTokens(['a', '<|start_header_id|>', '<|end_header_id']))).toBeUndefined();
      expect(detectChatFormat(withTokens(['<|end_header_id|>']))).toBeUndefined();
    });
  });
});
