// The bitnet-ts playground: plain browser JavaScript, no dependencies, served by @bitnet/server.
// POST-based SSE cannot use EventSource, so responses are read with fetch and parsed here.
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

  function delay(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // ---- /v1/stream, resumed with Last-Event-ID after a dropped connection ----------------------
  function generateStream() {
    var signal = beginRun();
    var body = samplingParams();
    body.prompt = form.elements.prompt.value;
    var lastId = null;
    var lastSeq = 0;
    var final = null;
    function onEvent(e) {
      var seq = e.id ? Number(e.id.slice(e.id.lastIndexOf(':') + 1)) : NaN;
      if (seq <= lastSeq) return; // already shown (never expected: the server replays only what follows)
      if (e.id) { lastId = e.id; lastSeq = seq; }
      var d = JSON.parse(e.data);
      if (e.event === 'token') addToken(d.token_id, d.token, d.position);
      else if (e.event === 'complete') final = { reason: d.finish_reason, data: d };
      else if (e.event === 'error') { final = { reason: 'error' }; $('request-error').textContent = d.error_type + ': ' + d.message; }
    }
    var init = { method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body), signal: signal };
    function attempt() {
      return fetch('v1/stream', init).then(function (res) {
        if (!isEventStream(res)) {
          return res.json().catch(function () { return null; }).then(function (b) { showError(res.status, b); final = { reason: 'error' }; });
        }
        // the stream's id: a connection that breaks before its first event resumes from event 0
        if (!lastId && res.headers.get('x-stream-id')) lastId = res.headers.get('x-stream-id') + ':0';
        return readSse(res, onEvent);
      }).catch(function (err) {
        if (signal.aborted) throw err;
        // the connection broke: fall through to resume
      }).then(function () {
        if (final) return endRun(final.reason, final.data);
        if (!lastId || run.resumes >= MAX_RESUMES) {
          $('request-error').textContent = 'the connection was lost';
          return endRun('error');
        }
        run.resumes++;
        $('resumes').textContent = 'resumed ×' + run.resumes;
        // no body: the server replays the events after lastId, then follows the generation
        init = { method: 'POST', headers: headers({ 'Last-Event-ID': lastId }), signal: signal };
        return delay(100 * run.resumes).then(attempt);
      });
    }
    return attempt().catch(function () { endRun('cancelled'); });
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
