import { configureLogging, logSink, setLogSink, formatLogRecord, levelFor, logDirectives, logger, parseLogSpec, type LogRecord } from './Logger';

function capture(spec: string, format?: (r: LogRecord) => string): { lines: string[]; records: LogRecord[] } {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  configureLogging({ spec, sink: (line, record) => (lines.push(line), records.push(record)), format });
  return { lines, records };
}

describe('logging', () => {
  const savedEnv = process.env.BITNET_LOG;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.BITNET_LOG;
    else process.env.BITNET_LOG = savedEnv;
    configureLogging({ spec: '', sink: () => undefined });
  });

  describe('parseLogSpec', () => {
    it('parses target=level directives, bare levels and bare targets', () => {
      expect(parseLogSpec('bitnet_inference::streaming=debug,bitnet_inference=info')).toEqual({
        directives: [
          { target: 'bitnet_inference::streaming', level: 'debug' },
          { target: 'bitnet_inference', level: 'info' },
        ],
        errors: [],
      });
      expect(parseLogSpec(' TRACE , bitnet_server , a::b = Warn ,,')).toEqual({
        directives: [{ level: 'trace' }, { target: 'bitnet_server', level: 'trace' }, { target: 'a::b', level: 'warn' }],
        errors: [],
      });
      expect(parseLogSpec('')).toEqual({ directives: [], errors: [] });
      expect(parseLogSpec('x=off').directives).toEqual([{ target: 'x', level: 'off' }]);
    });

    it('reports invalid directives and keeps the valid ones', () => {
      const p = parseLogSpec('a=loud,=debug,b=info,::x,c:d=warn');
      expect(p.directives).toEqual([{ target: 'b', level: 'info' }]);
      expect(p.errors).toHaveLength(4);
      expect(p.errors[0]).toContain("'loud' is not a level");
    });
  });

  describe('levelFor', () => {
    const d = parseLogSpec('bitnet_inference::streaming=debug,bitnet_inference=info,bitnet_server=error').directives;
    it('the most specific target prefix wins, whatever the order', () => {
      expect(levelFor(d, 'bitnet_inference::streaming')).toBe('debug');
      expect(levelFor(d, 'bitnet_inference::streaming::buffer')).toBe('debug');
      expect(levelFor(d, 'bitnet_inference::engine')).toBe('info');
      expect(levelFor(d, 'bitnet_inference')).toBe('info');
      expect(levelFor(d, 'bitnet_server::sse')).toBe('error');
      const reversed = [...d].reverse();
      expect(levelFor(reversed, 'bitnet_inference::streaming')).toBe('debug');
      expect(levelFor(reversed, 'bitnet_inference::engine')).toBe('info');
    });
    it('matches whole path segments only', () => {
      expect(levelFor(d, 'bitnet_inference_extra')).toBe('warn');
      expect(levelFor(d, 'bitnet_inference::stream')).toBe('info');
    });
    it('defaults to warn, or to the bare level', () => {
      expect(levelFor([], 'anything')).toBe('warn');
      expect(levelFor(parseLogSpec('debug,a=error').directives, 'b')).toBe('debug');
      expect(levelFor(parseLogSpec('debug,a=error').directives, 'a::x')).toBe('error');
      expect(levelFor(parseLogSpec('a=info,a=trace').directives, 'a')).toBe('trace');
    });
  });

  it('filters by target and level and writes [LEVEL] target: message {fields}', () => {
    const { lines } = capture('bitnet_inference::streaming=debug,bitnet_inference=info');
    const s = logger('bitnet_inference::streaming');
    const e = logger('bitnet_inference::engine');
    const other = logger('other_crate');
    s.trace('not shown');
    s.debug('flush', { ids: 3, finishReason: 'eos' });
    s.info('plain message');
    e.debug('not shown');
    e.info('loaded', { layers: 30 });
    other.info('not shown');
    other.warn('careful');
    other.error('broken', { err: new Error('boom'), big: 2n });
    expect(lines).toEqual([
      '[DEBUG] bitnet_inference::streaming: flush {"ids":3,"finishReason":"eos"}',
      '[INFO] bitnet_inference::streaming: plain message',
      '[INFO] bitnet_inference::engine: loaded {"layers":30}',
      '[WARN] other_crate: careful',
      '[ERROR] other_crate: broken {"err":{"name":"Error","message":"boom"},"big":"2"}',
    ]);
  });

  it('prints `[DEBUG] Token ID: n` with a plain logger', () => {
    const { lines } = capture('bitnet_inference::example=debug');
    const log = logger('bitnet_inference::example', { plain: true });
    for (const id of [9468, 19044]) log.debug(`Token ID: ${id}`);
    expect(lines).toEqual(['[DEBUG] Token ID: 9468', '[DEBUG] Token ID: 19044']);
    expect(logger('bitnet_inference::example')).not.toBe(log);
    expect(logger('bitnet_inference::example', { plain: true })).toBe(log);
  });

  it('uses a formatter hook', () => {
    const { lines } = capture('trace', (r) => `${r.level}|${r.target}|${r.message}|${r.plain}`);
    logger('a::b').trace('x');
    expect(lines).toEqual(['trace|a::b|x|false']);
    expect(formatLogRecord({ level: 'info', target: 't', message: 'm', fields: {}, plain: false })).toBe('[INFO] t: m');
  });

  it('disabled calls are no-ops: no formatting, no sink; enabled() guards', () => {
    const format = jest.fn((r: LogRecord) => r.message);
    const sink = jest.fn();
    configureLogging({ spec: 'a=error', sink, format });
    const log = logger('a');
    log.warn('w');
    log.info('i');
    log.debug('d', { expensive: true });
    log.trace('t');
    log.log('debug', 'd');
    expect(sink).not.toHaveBeenCalled();
    expect(format).not.toHaveBeenCalled();
    expect(log.enabled('error')).toBe(true);
    expect(log.enabled('warn')).toBe(false);
    log.error('e');
    expect(sink).toHaveBeenCalledTimes(1);
    configureLogging({ spec: 'a=off', sink, format });
    log.error('e');
    expect(sink).toHaveBeenCalledTimes(1);
    expect(log.enabled('error')).toBe(false);
  });

  it('defaults to warn', () => {
    const { lines } = capture('');
    const log = logger('bitnet_inference::streaming');
    log.info('no');
    log.warn('yes');
    expect(lines).toEqual(['[WARN] bitnet_inference::streaming: yes']);
  });

  it('reads BITNET_LOG only when configureLogging() is called, and existing loggers follow', () => {
    const lines: string[] = [];
    const sink = (l: string) => void lines.push(l);
    process.env.BITNET_LOG = 'bitnet_inference::streaming=debug';
    configureLogging({ sink });
    const log = logger('bitnet_inference::streaming');
    expect(log.enabled('debug')).toBe(true);
    process.env.BITNET_LOG = 'bitnet_inference::streaming=error';
    expect(log.enabled('debug')).toBe(true); // not re-read by itself
    configureLogging({ sink });
    expect(log.enabled('debug')).toBe(false);
    expect(log.enabled('error')).toBe(true);
    expect(logDirectives()).toEqual([{ target: 'bitnet_inference::streaming', level: 'error' }]);
    delete process.env.BITNET_LOG;
    configureLogging({ sink });
    expect(logDirectives()).toEqual([]);
    expect(log.enabled('warn')).toBe(true);
    configureLogging('bitnet_inference=trace'); // string shorthand; default sink (stderr)
    expect(log.enabled('trace')).toBe(true);
  });

  it('warns about invalid directives through its own logger', () => {
    const { lines } = capture('bitnet_inference=debug,oops=loud');
    expect(lines).toEqual([expect.stringMatching(/^\[WARN\] bitnet_inference::logging: ignoring invalid BITNET_LOG directive 'oops=loud'/)]);
    expect(logger('bitnet_inference::x').enabled('debug')).toBe(true);
  });

  it('writes to stderr by default', () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      configureLogging('t=info');
      logger('t').info('hello', { n: 1 });
      expect(write).toHaveBeenCalledWith('[INFO] t: hello {"n":1}\n');
    } finally {
      write.mockRestore();
    }
  });

  it('setLogSink swaps where records go and keeps the filter', () => {
    configureLogging({ spec: 'a=debug', sink: () => undefined });
    const got: Array<[string, LogRecord]> = [];
    const mine = (line: string, record: LogRecord) => void got.push([line, record]);
    const before = setLogSink(mine);
    expect(logSink()).toBe(mine);
    logger('a::b').debug('routed', { n: 2 });
    logger('a').trace('filtered out');
    expect(got).toEqual([['[DEBUG] a::b: routed {"n":2}', { level: 'debug', target: 'a::b', message: 'routed', fields: { n: 2 }, plain: false }]]);
    expect(setLogSink(before)).toBe(mine);
    logger('a').info('not mine');
    expect(got).toHaveLength(1);
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      setLogSink(undefined); // back to stderr
      logger('a').warn('to stderr');
      expect(write).toHaveBeenCalledWith('[WARN] a: to stderr\n');
    } finally {
      write.mockRestore();
    }
  });

  it('rejects malformed targets', () => {
    expect(() => logger('not a target')).toThrow(TypeError);
  });
});
