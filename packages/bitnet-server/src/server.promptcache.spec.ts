/**
 * The prompt cache through the server, on the bundled model (256-token context, blocks of 64
 * positions): a request that extends an earlier one reports the restored prompt tokens in OpenAI's
 * usage.prompt_tokens_details.cached_tokens (streamed and not) and in the complete event's
 * cached_prompt_tokens, generates exactly the ids a server without a cache generates, and moves the
 * cache's /metrics counters and /health figures. A cache of two blocks evicts and still answers right.
 */
import { defaultModelPath, promptCacheLayout } from '@bitnet/inference';
import type { PromptCacheHealth } from './promptCache';
import type { BitnetServer } from './server';
import { metric, postJson, postSse, startTestServer, tokenEvents } from './testing/harness';

let cached: BitnetServer;
let uncached: BitnetServer;

beforeAll(async () => {
  cached = await startTestServer(defaultModelPath(), { threads: 1, promptCacheMb: 16 });
  uncached = await startTestServer(defaultModelPath(), { threads: 1, promptCacheMb: 0 });
}, 60_000);

afterAll(async () => {
  await cached?.close();
  await uncached?.close();
});

/** 81 tokens on the bundled model: more than one block. */
const GENESIS =
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God said, Let there be light: and there was light. And God saw the light, that it was good: and God divided the light from the darkness.';
const MORE = ' And God called the light Day, and the darkness he called Night.';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

async function chat(server: BitnetServer, messages: Array<{ role: string; content: string }>): Promise<{ ids: number[]; text: string; usage: Usage }> {
  const r = await postJson(`${server.url}/v1/chat/completions`, { messages, max_tokens: 8, temperature: 0 });
  expect(r.status).toBe(200);
  return { ids: r.body.choices[0].token_ids, text: r.body.choices[0].message.content, usage: r.body.usage };
}

async function stream(server: BitnetServer, prompt: string): Promise<{ ids: number[]; complete: Record<string, number> }> {
  const r = await postSse(`${server.url}/v1/stream`, { prompt, max_tokens: 8, temperature: 0, seed: 1 });
  const last = r.events[r.events.length - 1];
  expect(last.event).toBe('complete');
  return { ids: tokenEvents(r).map((t) => t.token_id), complete: JSON.parse(last.data) };
}

const health = async (server: BitnetServer) => ((await (await fetch(`${server.url}/health`)).json()) as { prompt_cache: PromptCacheHealth }).prompt_cache;

describe('prompt cache', () => {
  it('a chat turn that extends the previous one reports cached tokens in usage and gets the ids of a server without a cache', async () => {
    const turn1 = [
      { role: 'system', content: 'You answer in the words of the King James Bible.' },
      { role: 'user', content: GENESIS },
    ];
    const first = await chat(cached, turn1);
    const firstRef = await chat(uncached, turn1);
    expect(first.ids.length).toBeGreaterThan(0);
    expect(first.ids).toEqual(firstRef.ids);
    expect(first.usage.prompt_tokens).toBeGreaterThan(64);
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(firstRef.usage.prompt_tokens_details.cached_tokens).toBe(0);

    const turn2 = [...turn1, { role: 'assistant', content: first.text }, { role: 'user', content: 'And what did God call the light?' }];
    const second = await chat(cached, turn2);
    const secondRef = await chat(uncached, turn2);
    expect(second.ids).toEqual(secondRef.ids);
    expect(second.usage.prompt_tokens).toBe(secondRef.usage.prompt_tokens);
    // whole blocks of the shared history, never the whole prompt
    expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(64);
    expect(second.usage.prompt_tokens_details.cached_tokens % 64).toBe(0);
    expect(second.usage.prompt_tokens_details.cached_tokens).toBeLessThan(second.usage.prompt_tokens);
    expect(secondRef.usage.prompt_tokens_details.cached_tokens).toBe(0);
  }, 60_000);

  it('the streamed final usage chunk and /v1/stream complete event carry the cached tokens; ids equal the uncached server', async () => {
    await stream(cached, GENESIS);
    const on = await stream(cached, GENESIS + MORE);
    const off = await stream(uncached, GENESIS + MORE);
    expect(on.ids).toEqual(off.ids);
    expect(on.ids.length).toBeGreaterThan(0);
    expect(on.complete.prompt_tokens).toBe(off.complete.prompt_tokens);
    expect(on.complete.cached_prompt_tokens).toBe(64);
    expect(off.complete.cached_prompt_tokens).toBe(0);

    // a completion streamed with include_usage: the same prompt again, now cached
    const r = await postSse(`${cached.url}/v1/completions`, { prompt: GENESIS + MORE, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks = r.events.map((e) => e.data).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
    const usage = chunks[chunks.length - 1].usage as Usage;
    expect(usage.prompt_tokens).toBe(on.complete.prompt_tokens);
    expect(usage.prompt_tokens_details.cached_tokens).toBe(64);
    expect(chunks.flatMap((c) => c.choices.flatMap((ch: { token_ids?: number[] }) => ch.token_ids ?? []))).toEqual(off.ids);
  }, 60_000);

  it('/metrics counts cached and computed prompt tokens and shows the cache; /health reports it', async () => {
    const read = async (s: BitnetServer) => ({
      prompt: await metric(s.url, 'bitnet_prompt_tokens_total'),
      cachedTokens: await metric(s.url, 'bitnet_prompt_tokens_cached_total'),
      computed: await metric(s.url, 'bitnet_prompt_tokens_computed_total'),
    });
    const before = await read(cached);
    const prompt = 'Now the serpent was more subtil than any beast of the field. ' + GENESIS;
    // (the first may reuse a position or so of a cached block it matches partly: the BOS of earlier prompts)
    const first = await stream(cached, prompt);
    const again = await stream(cached, prompt + MORE);
    const after = await read(cached);
    expect(again.complete.cached_prompt_tokens).toBeGreaterThanOrEqual(64);
    const both = first.complete.cached_prompt_tokens + again.complete.cached_prompt_tokens;
    expect(after.cachedTokens - before.cachedTokens).toBe(both);
    expect(after.computed - before.computed).toBe(after.prompt - before.prompt - both);
    expect(await metric(cached.url, 'bitnet_prompt_cache_blocks')).toBeGreaterThan(0);
    expect(await metric(cached.url, 'bitnet_prompt_cache_bytes')).toBeGreaterThan(0);
    expect(await metric(cached.url, 'bitnet_prompt_cache_limit_bytes')).toBe(16 * 1024 * 1024);
    expect(await metric(cached.url, 'bitnet_prompt_cache_evicted_blocks_total')).toBe(0);

    const h = await health(cached);
    expect(h).toMatchObject({ enabled: true, source: 'option', size_mb: 16, limit_bytes: 16 * 1024 * 1024, block_tokens: 64, evicted_blocks: 0 });
    expect(h.cached_blocks).toBe(await metric(cached.url, 'bitnet_prompt_cache_blocks'));
    expect(h.bytes).toBe(await metric(cached.url, 'bitnet_prompt_cache_bytes'));
    expect(h.reused_tokens).toBe(after.cachedTokens);

    // without a cache: nothing cached, every prompt token computed
    const off = await read(uncached);
    expect(off.cachedTokens).toBe(0);
    expect(off.computed).toBe(off.prompt);
    expect(await metric(uncached.url, 'bitnet_prompt_cache_limit_bytes')).toBe(0);
    expect(await health(uncached)).toMatchObject({ enabled: false, source: 'option', size_mb: 0, limit_bytes: 0, cached_blocks: 0 });
  }, 60_000);

  it('without --prompt-cache-mb the cache is on with the default size', async () => {
    const server = await startTestServer(defaultModelPath(), { threads: 1 });
    try {
      const h = await health(server);
      expect(h).toMatchObject({ enabled: true, source: 'default', bytes: 0, cached_blocks: 0 });
      expect(h.size_mb).toBeGreaterThanOrEqual(1);
      expect(h.size_mb).toBeLessThanOrEqual(1024);
      await stream(server, GENESIS);
      expect((await stream(server, GENESIS + MORE)).complete.cached_prompt_tokens).toBe(64);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('a cache of one context (the least it can be) evicts the least recently used prompt, counts it, and still answers as without a cache', async () => {
    const { blockBytes, blocks } = promptCacheLayout(cached.context.engine.model.config, 1);
    expect(blocks).toBe(4); // the bundled model's 256-position context
    const small = await startTestServer(defaultModelPath(), { threads: 1, promptCacheMb: 1 / (1024 * 1024) });
    try {
      expect(await health(small)).toMatchObject({ enabled: true, limit_bytes: 4 * blockBytes });
      // each fills one block, and they differ from their second id on
      const prompts = ['First. ', 'Second. ', 'Third. ', 'Fourth. ', 'Fifth. ', 'Sixth. '].map((p) => p + GENESIS);
      for (const p of prompts) await stream(small, p);
      expect(await metric(small.url, 'bitnet_prompt_cache_evicted_blocks_total')).toBeGreaterThan(0);
      expect(await metric(small.url, 'bitnet_prompt_cache_blocks')).toBeLessThanOrEqual(4);
      expect(await metric(small.url, 'bitnet_prompt_cache_bytes')).toBeLessThanOrEqual(4 * blockBytes);
      // six prompts' first blocks cannot all stay in four: some went; the last one is still cached
      // (which ones went depends on use: a block read for its BOS alone counts as used)
      const kept = await stream(small, prompts[5] + MORE);
      expect(kept.complete.cached_prompt_tokens).toBe(64);
      expect(kept.ids).toEqual((await stream(uncached, prompts[5] + MORE)).ids);
      expect((await health(small)).evicted_blocks).toBe(await metric(small.url, 'bitnet_prompt_cache_evicted_blocks_total'));
    } finally {
      await small.close();
    }
  }, 60_000);
});
