/**
 * The conversation behind `bitnet-chat`: the system message, the turns so far, and the prompt ids of
 * the next reply in the model's chat format (ModelInfo.chatFormat). Kept apart from the terminal so
 * that tests can drive it.
 */
import { type ChatFormat, type ChatMessage, type Tokenizer, chatStopStrings, encodeChat } from '@bitnet/models';

/** A conversation in one chat format. */
export class ChatSession {
  private system: string | undefined;
  private turns: ChatMessage[] = [];

  constructor(
    private readonly tokenizer: Tokenizer,
    /** The format the prompts are written in. */
    readonly format: ChatFormat,
    /** Context length of the model: the oldest turns are left out of a prompt that would not fit. */
    private readonly contextLength: number,
  ) {}

  /** Stop strings a reply needs besides the end-of-generation tokens (see `chatStopStrings`). */
  get stopSequences(): string[] {
    return chatStopStrings(this.format);
  }

  /** The messages sent with the next prompt: the system message, then the turns. */
  get messages(): ChatMessage[] {
    return [...(this.system !== undefined ? [{ role: 'system' as const, content: this.system }] : []), ...this.turns];
  }

  /** Forgets the turns (the system message stays). */
  reset(): void {
    this.turns = [];
  }

  /** Sets the system message (an empty text removes it) and starts over. */
  setSystem(text: string): void {
    this.system = text.trim() === '' ? undefined : text.trim();
    this.reset();
  }

  /**
   * The prompt ids for a reply to `user`, leaving room for `maxNewTokens`: whole earlier turns are
   * dropped, oldest first, while the prompt would not fit.
   */
  promptFor(user: string, maxNewTokens: number): number[] {
    const next: ChatMessage = { role: 'user', content: user };
    for (let from = 0; ; from += 2) {
      const turns = this.turns.slice(from);
      const sys = this.system !== undefined ? [{ role: 'system' as const, content: this.system }] : [];
      const ids = encodeChat(this.tokenizer, [...sys, ...turns, next], this.format);
      if (ids.length + maxNewTokens <= this.contextLength || turns.length === 0) {
        this.turns = turns;
        return ids;
      }
    }
  }

  /** Records a finished turn (the reply as the model wrote it, without surrounding spaces). */
  record(user: string, reply: string): void {
    this.turns.push({ role: 'user', content: user }, { role: 'assistant', content: reply.trim() });
  }
}
