export { formatSseEvent, type SseEvent } from './sse/SseEvent';
