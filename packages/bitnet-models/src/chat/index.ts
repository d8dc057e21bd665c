export {
  applyChatTemplate,
  detectChatFormat,
  encodeChat,
  type ApplyChatTemplateOptions,
  type ChatFormat,
  type ChatMessage,
  type ChatRole,
} from './ChatTemplate';
