export {
  applyChatTemplate,
  chatFormatFits,
  chatStopStrings,
  selectChatFormat,
  detectChatFormat,
  encodeChat,
  type ApplyChatTemplateOptions,
  type ChatFormat,
  type ChatMessage,
  type ChatRole,
} from './ChatTemplate';
