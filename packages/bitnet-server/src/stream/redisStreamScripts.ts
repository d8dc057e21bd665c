/**
 * The Redis side of `RedisStreamStore`: its key layout, its Lua scripts (each one atomic, so two
 * replicas can never interleave writes of a stream) and the decoding of stream entries.
 */
import type { LoggedEvent } from './StreamStore';

/** KEYS: events, request, lease. ARGV: seq, owner, leaseMs (0: do not take a free lease), ttlMs, maxlen, event, data, gapOk. Returns {1, top} written (or already written by owner), {0, top} refused (another writer), {-1, top} a gap (seq > top + 1), {-3, 0} the request is missing. */
export const APPEND = `
if redis.call('EXISTS', KEYS[2]) == 0 then return {-3, 0} end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[2] then return {0, 0} end
local seq = tonumber(ARGV[1])
local top = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then top = tonumber(string.match(last[1][1], '^0%-(%d+)$')) end
if seq <= top then
  local e = redis.call('XRANGE', KEYS[1], '0-' .. seq, '0-' .. seq)
  if #e > 0 then
    local f = e[1][2]
    for i = 1, #f, 2 do if f[i] == 'owner' and f[i + 1] == ARGV[2] then return {1, top} end end
  end
  return {0, top}
end
if seq ~= top + 1 and ARGV[8] ~= '1' then return {-1, top} end
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[5], '0-' .. seq, 'event', ARGV[6], 'data', ARGV[7], 'owner', ARGV[2])
if not holder and ARGV[3] ~= '0' then redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, seq}`;

/** KEYS: events, request, lease. ARGV: owner, leaseMs, ttlMs. 1 held (a free lease is taken again), 0 lost. */
export const RENEW = `
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`;

/** KEYS: request, lease. ARGV: owner, leaseMs. 1 taken, 0 held by someone, -1 unknown stream. */
export const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

/** KEYS: lease. ARGV: owner. */
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** An XRANGE entry: id and field/value list. */
export type Entry = [string, string[]];

/** The Redis key of a stream part. */
export function key(id: string, part: 'events' | 'request' | 'lease'): string {
  return `bitnet:stream:${id}:${part}`;
}

/** The seq of entry id `0-<seq>`. */
export function seqOf(entryId: string): number {
  return Number(entryId.slice(entryId.indexOf('-') + 1));
}

/** The event of an XRANGE entry of stream `id`. */
export function toEvent(id: string, [entryId, fields]: Entry): LoggedEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  const seq = seqOf(entryId);
  return { id: `${id}:${seq}`, seq, event: f.event as LoggedEvent['event'], data: JSON.parse(f.data ?? '{}') };
}

/** The degraded reason for a connection error. */
export function unreachableReason(err: Error & { code?: string }): string {
  const what = err.code && !err.message.includes(err.code) ? `${err.code} ${err.message}` : err.message;
  return `redis unreachable (${what}); streams are kept in this replica only`;
}
