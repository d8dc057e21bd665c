// The bitnet-ts playground: plain browser JavaScript (an ES module), served by @bitnet/server.
// /v1/stream goes through @bitnet/client (its browser module, served next to this file), which
// reads the events and resumes a dropped connection with Last-Event-ID. The OpenAI chat route is
// read here: POST-based SSE cannot use EventSource, so that response is parsed with fetch.
import { BitnetClient, BitnetConnectionError, BitnetHttpError, BitnetStreamError } from './playground/bitnet-client.mjs';

(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var form = $('form');
  var output = $('output');
  var statusEl = $('status');
  var generateBtn = $('generate');
  var stopBtn = $('stop-button');
  var chatLog = $('chat-log');
  var INT_FIELDS = ['max_tokens', 'top_k', 'seed'];
  var NUM_FIELDS = ['temperature', 'top_p', 'min_p', 'repetition_penalty'];
  var MAX_RESUMES = 5;
  // the page's own folder: the API is served next to it
  var BASE_URL = new URL('.', location.href).href;

  var state = { controller: null, running: false, history: [] };

  function mode() { return form.querySelector('input[name=mode]:checked').value; }

  // ---- model card ---------------------------------------------------------------------------
  function refreshHealth() {
    return fetch('health', { headers: { Accept: 'application/json' } }).then(function (r) { return r.json(); }).then(function (h) {
      var m = h.model || {};
      var card = $('model-card');
      card.textContent = '';
      var items = [
        ['model', m.name || m.id], ['file', m.file], ['architecture', m.architecture], ['quantization', m.quantization],
        ['parameters', m.parameters != null ? (m.parameters / 1e6).toFixed(1) + ' M' : ''], ['context', m.context_length],
        ['vocabulary', m.vocab_size], ['chat format', h.chat_format || m.chat_format], ['kernels', h.kernels], ['server', h.version],
        ['streams', h.streams ? h.streams.active + ' active, ' + h.streams.queued + ' queued' : ''],
      ];
      items.forEach(function (it) {
        if (it[1] === undefined || it[1] === null || it[1] === '') return;
        if (card.firstChild) card.appendChild(document.createTextNode(' · '));
        card.appendChild(document.createTextNode(it[0] + ' '));
        var b = document.createElement('b');
        b.textContent = String(it[1]);
        card.appendChild(b);
      });
    }).catch(function () { $('model-card').textContent = 'server not reachable'; });
  }

  // ---- request body -------------------------------------------------------------------------
  function fieldValue(name) {
    var raw = form.elements[name].value.trim();
    if (raw === '') return undefined;
    var n = Number(raw);
    // a number when it reads as one; anything else is sent as typed and the server names the field
    if (INT_FIELDS.indexOf(name) >= 0 || NUM_FIELDS.indexOf(name) >= 0) return Number.isFinite(n) ? n : raw;
    return raw;
  }

  function samplingParams() {
    var body = {};
    INT_FIELDS.concat(NUM_FIELDS).forEach(function (k) {
      var v = fieldValue(k);
      if (v !== undefined) body[k] = v;
    });
    var stops = form.elements.stop.value.split('\n').filter(function (s) { return s !== ''; });
    if (stops.length) body.stop = stops;
    return body;
  }

  /**
   * The schema box: undefined when empty, else the parsed JSON Schema. Text that is not JSON is shown
   * next to the box and nothing is sent (throws).
   */
  function jsonSchema() {
    var raw = form.elements.json_schema.value.trim();
    if (raw === '') return undefined;
    try {
      return JSON.parse(raw);
    } catch (e) {
      showError(0, { error: { param: 'json_schema', message: 'json_schema: not valid JSON (' + e.message + ')' } });
      throw new Error('invalid schema box');
    }
  }

  function headers(extra) {
    var h = { Accept: 'text/event-stream' };
    var key = form.elements.api_key.value.trim();
    if (key) h.Authorization = 'Bearer ' + key;
    for (var k in extra) h[k] = extra[k];
    return h;
  }

  // ---- errors next to their fields ----------------------------------------------------------
  function clearErrors() {
    form.querySelectorAll('.field-error').forEach(function (e) { e.textContent = ''; });
    form.querySelectorAll('.invalid').forEach(function (e) { e.classList.remove('invalid'); });
    $('request-error').textContent = '';
  }

  function showError(status, body) {
    var err = (body && body.error) || {};
    var param = typeof err.param === 'string' ? err.param.split(/[.[]/)[0] : null;
    if (param === 'messages') param = 'prompt';
    if (param === 'response_format') param = 'json_schema';
    var slot = param && form.querySelector('[data-error-for="' + param + '"]');
    var text = err.message || ('HTTP ' + status);
    if (slot) {
      slot.textContent = text;
      slot.parentElement.classList.add('invalid');
    } else {
      $('request-error').textContent = (err.type ? err.type + ': ' : '') + text;
    }
  }

  // ---- SSE over fetch -----------------------------------------------------------------------
  /** Reads an event stream to its end, calling onEvent({event, id, data}) per event. */
  function readSse(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    var ev = { event: '', data: [], id: undefined };
    function line(l) {
      if (l === '') {
        if (ev.data.length) onEvent({ event: ev.event || 'message', id: ev.id, data: ev.data.join('\n') });
        ev = { event: '', data: [], id: undefined };
        return;
      }
      if (l.charAt(0) === ':') return; // comment (keep-alive)
      var i = l.indexOf(':');
      var field = i < 0 ? l : l.slice(0, i);
      var value = i < 0 ? '' : l.slice(i + 1);
      if (value.charAt(0) === ' ') value = value.slice(1);
      if (field === 'event') ev.event = value;
      else if (field === 'data') ev.data.push(value);
      else if (field === 'id') ev.id = value;
    }
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) return;
        buffer += decoder.decode(r.value, { stream: true });
        var m;
        var re = /\r\n|\r|\n/g;
        var start = 0;
        while ((m = re.exec(buffer))) {
          // a lone \r at the end may be the first half of \r\n: wait for more
          if (m[0] === '\r' && m.index === buffer.length - 1) break;
          line(buffer.slice(start, m.index));
          start = m.index + m[0].length;
        }
        buffer = buffer.slice(start);
        return pump();
      });
    }
    return pump();
  }

  function isEventStream(res) { return (res.headers.get('content-type') || '').indexOf('text/event-stream') === 0; }

  // ---- token display and live numbers -------------------------------------------------------
  var run = null;

  function beginRun() {
    clearErrors();
    output.textContent = '';
    statusEl.textContent = '';
    $('count').textContent = '0';
    $('tps').textContent = '';
    $('ttft').textContent = '';
    $('resumes').textContent = '';
    run = { t0: performance.now(), first: null, count: 0, resumes: 0 };
    state.running = true;
    state.controller = new AbortController();
    generateBtn.disabled = true;
    stopBtn.disabled = false;
    return state.controller.signal;
  }

  function addToken(id, text, position) {
    var now = performance.now();
    if (run.first === null) {
      run.first = now;
      $('ttft').textContent = Math.round(now - run.t0) + ' ms';
    }
    run.count++;
    var span = document.createElement('span');
    span.className = 'tok';
    span.setAttribute('data-token-id', String(id));
    span.setAttribute('data-position', String(position));
    span.title = 'token id ' + id + ' · position ' + position;
    span.textContent = text;
    output.appendChild(span);
    $('count').textContent = String(run.count);
    var secs = (now - run.first) / 1000;
    if (run.count > 1 && secs > 0) $('tps').textContent = ((run.count - 1) / secs).toFixed(1);
  }

  function endRun(reason, server) {
    if (server) {
      if (server.tokens_per_second != null) $('tps').textContent = Number(server.tokens_per_second).toFixed(1);
      if (server.time_to_first_token_ms != null) $('ttft').textContent = Math.round(server.time_to_first_token_ms) + ' ms';
    }
    statusEl.textContent = reason;
    state.running = false;
    state.controller = null;
    generateBtn.disabled = false;
    stopBtn.disabled = true;
    refreshHealth();
  }

  // ---- /v1/stream through @bitnet/client: a dropped connection resumes with Last-Event-ID -------
  function generateStream() {
    var signal = beginRun();
    var request = samplingParams();
    request.prompt = form.elements.prompt.value;
    var schema;
    try { schema = jsonSchema(); } catch (e) { return endRun('error'); }
    if (schema !== undefined) request.json_schema = schema;
    var key = form.elements.api_key.value.trim();
    var client = new BitnetClient({ baseUrl: BASE_URL, apiKey: key || undefined, retry: { maxRetries: MAX_RESUMES, initialDelayMs: 100, maxDelayMs: 2000 } });
    var stream = client.stream(request, {
      signal: signal,
      onReconnect: function () {
        run.resumes++;
        $('resumes').textContent = 'resumed ×' + run.resumes;
      },
    });
    var iterator = stream[Symbol.asyncIterator]();
    function next() {
      return iterator.next().then(function (r) {
        // a value completed under the schema ends with 'grammar_complete' (its finish_reason is 'stop')
        if (r.done) return endRun(stream.complete.completion_reason === 'grammar_complete' ? 'grammar_complete' : stream.complete.finish_reason, stream.complete);
        addToken(r.value.id, r.value.text, r.value.position);
        return next();
      });
    }
    return next().catch(function (err) {
      if (signal.aborted) return endRun('cancelled');
      if (err instanceof BitnetHttpError) showError(err.status, err.body);
      else if (err instanceof BitnetStreamError) $('request-error').textContent = err.error_type + ': ' + err.message;
      else if (err instanceof BitnetConnectionError) $('request-error').textContent = 'the connection was lost';
      else $('request-error').textContent = String(err && err.message || err);
      endRun('error');
    });
  }

  // ---- chat over /v1/chat/completions --------------------------------------------------------
  function appendMessage(role, text) {
    var div = document.createElement('div');
    div.className = 'msg ' + role;
    var r = document.createElement('span');
    r.className = 'role';
    r.textContent = role;
    div.appendChild(r);
    div.appendChild(document.createTextNode(text));
    chatLog.appendChild(div);
    chatLog.scrollTop = chatLog.scrollHeight;
  }

  function generateChat() {
    var signal = beginRun();
    var userText = form.elements.prompt.value;
    var messages = state.history.concat([{ role: 'user', content: userText }]);
    var body = samplingParams();
    body.messages = messages;
    body.stream = true;
    var schema;
    try { schema = jsonSchema(); } catch (e) { return endRun('error'); }
    if (schema !== undefined) body.response_format = { type: 'json_schema', json_schema: { name: 'playground', schema: schema } };
    var reply = '';
    var finish = null;
    var failed = false;
    function onEvent(e) {
      if (e.data === '[DONE]') return;
      var d = JSON.parse(e.data);
      if (d.error) { failed = true; $('request-error').textContent = (d.error.type || 'error') + ': ' + d.error.message; return; }
      var c = d.choices && d.choices[0];
      if (!c) return;
      var text = (c.delta && c.delta.content) || '';
      if (c.token_ids && c.token_ids.length) addToken(c.token_ids[0], text, run.count);
      reply += text;
      if (c.finish_reason) finish = c.finish_reason;
    }
    return fetch('v1/chat/completions', { method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body), signal: signal }).then(function (res) {
      if (!isEventStream(res)) {
        return res.json().catch(function () { return null; }).then(function (b) { showError(res.status, b); endRun('error'); });
      }
      return readSse(res, onEvent).then(function () {
        if (failed || !finish) return endRun('error');
        state.history = messages.concat([{ role: 'assistant', content: reply }]);
        appendMessage('user', userText);
        appendMessage('assistant', reply);
        form.elements.prompt.value = '';
        endRun(finish);
      });
    }).catch(function () { endRun(signal.aborted ? 'cancelled' : 'error'); });
  }

  // ---- wiring -------------------------------------------------------------------------------
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (state.running) return;
    if (mode() === 'chat') generateChat();
    else generateStream();
  });
  stopBtn.addEventListener('click', function () { if (state.controller) state.controller.abort(); });
  $('show-ids').addEventListener('change', function (e) { output.classList.toggle('show-ids', e.target.checked); });
  function syncMode() {
    var chat = mode() === 'chat';
    chatLog.hidden = !chat;
    $('reset-chat').hidden = !chat;
  }
  form.querySelectorAll('input[name=mode]').forEach(function (r) { r.addEventListener('change', syncMode); });
  $('reset-chat').addEventListener('click', function () { state.history = []; chatLog.textContent = ''; });
  syncMode();
  refreshHealth();
})();
