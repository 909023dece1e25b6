// The sample page: plain JavaScript over the REST endpoints of EricSseModule (mounted at /api).

const API = '/api';
const CONVERSATION_CHANNEL = 'conversation';
const MAX_LOG_ROWS = 200;

/**
 * Over HTTP/1.1 a browser opens at most 6 connections to one server, and each EventSource holds one
 * for as long as it is open. The conversation watch holds one and the page's requests need one.
 */
const MAX_STREAMS = 4;

/** The streams this page has open, by `${channelId}/${listenerId}`. */
const streams = new Map();

/**
 * The listeners this page subscribed, by the same key. Only these get a Stream button: a listener has
 * one queue, and streaming someone else's (Alice's, another tab's) would take its messages.
 */
const mine = new Set();

/**
 * An EventSource delivers an event named `greeting` only to `addEventListener('greeting')`, never to
 * a catch-all handler. So the page listens, on every stream, for each type it has sent from the form.
 */
const eventTypes = new Set(['message']);

/** The channels and their listener ids, as last fetched. */
let channels = [];

const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------------------------------------
// REST calls

/** Calls the REST API; resolves with the JSON body, rejects with an Error saying what the server said. */
async function api(method, path, body) {
  const response = await fetch(API + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = parseJson(text);
  if (!response.ok) {
    throw new Error(`${method} ${API}${path} → ${response.status} ${describeError(data, text || response.statusText)}`);
  }
  return data;
}

function parseJson(text) {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Nest error bodies look like `{ statusCode, error, message }`; `message` may be a list. */
function describeError(data, fallback) {
  if (data === null || typeof data !== 'object') return fallback;
  const message = Array.isArray(data.message) ? data.message.join('; ') : data.message;
  return [data.error, message].filter(Boolean).join(': ') || fallback;
}

const channelPath = (channelId) => `/channels/${encodeURIComponent(channelId)}`;
const listenerPath = (channelId, listenerId) => `${channelPath(channelId)}/listeners/${encodeURIComponent(listenerId)}`;

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

/** Creates an element: `el('button', { className: 'x', onclick }, 'text', child)`. Text is never parsed as HTML. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

function showError(target, error) {
  target.textContent = error instanceof Error ? error.message : String(error);
  target.hidden = false;
}

function clearError(target) {
  target.textContent = '';
  target.hidden = true;
}

/** UUIDs are long: show their first 8 characters (the full id is in the tooltip). Named ids stay whole. */
function shortId(id) {
  return /^[0-9a-f]{8}-[0-9a-f-]{27}$/i.test(id) ? `${id.slice(0, 8)}…` : id;
}

function idLabel(id) {
  return el('code', { title: id }, shortId(id));
}

function now() {
  const date = new Date();
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** Runs an async UI action; a failure is shown in `errorTarget` instead of being thrown. */
async function attempt(errorTarget, action) {
  clearError(errorTarget);
  try {
    await action();
  } catch (error) {
    showError(errorTarget, error);
  }
}

// ---------------------------------------------------------------------------------------------
// Channels and listeners

async function refreshChannels() {
  const { ids } = await api('GET', '/channels');
  const fetched = await Promise.all(
    ids.map(async (id) => {
      try {
        return { id, listeners: (await api('GET', `${channelPath(id)}/listeners`)).ids };
      } catch {
        return undefined; // removed since it was listed
      }
    }),
  );
  channels = fetched.filter(Boolean);
  renderChannels();
  renderSendTargets();
}

function renderChannels() {
  const list = $('#channels');
  if (channels.length === 0) {
    list.replaceChildren(el('li', { className: 'hint' }, 'No channels.'));
    return;
  }
  list.replaceChildren(...channels.map(renderChannel));
}

function renderChannel({ id, listeners }) {
  const count = `${listeners.length} listener${listeners.length === 1 ? '' : 's'}`;
  return el(
    'li',
    { className: 'channel', 'data-channel': id },
    el(
      'div',
      { className: 'channel-head' },
      el('strong', {}, id),
      el('span', { className: 'muted' }, count),
      el('span', { className: 'spacer' }),
      button('Subscribe', () => subscribe(id), ''),
      button('Remove', () => removeChannel(id), 'danger'),
    ),
    listeners.length === 0
      ? undefined
      : el('ul', { className: 'listeners' }, ...listeners.map((listenerId) => renderListener(id, listenerId))),
  );
}

function renderListener(channelId, listenerId) {
  const streaming = streams.has(`${channelId}/${listenerId}`);
  return el(
    'li',
    { className: 'listener', 'data-listener': listenerId },
    idLabel(listenerId),
    streaming ? el('span', { className: 'badge' }, 'streaming') : undefined,
    el('span', { className: 'spacer' }),
    streamButton(channelId, listenerId, streaming),
    button('Remove', () => removeListener(channelId, listenerId), 'quiet danger'),
  );
}

/** Stream / Close stream, for the listeners this page subscribed. */
function streamButton(channelId, listenerId, streaming) {
  if (!mine.has(`${channelId}/${listenerId}`)) return undefined;
  return streaming
    ? button('Close stream', () => closeStream(channelId, listenerId))
    : button('Stream', () => attempt($('#channels-error'), async () => openStream(channelId, listenerId)));
}

function button(label, onclick, className = 'quiet') {
  return el('button', { type: 'button', className, onclick }, label);
}

function createChannel(event) {
  event.preventDefault();
  const input = $('#channel-id');
  const id = input.value.trim();
  return attempt($('#channels-error'), async () => {
    const created = await api('POST', '/channels', id === '' ? {} : { id });
    input.value = '';
    $('#send-channel').dataset.pick = created.id;
    await refreshChannels();
  });
}

function subscribe(channelId) {
  return attempt($('#channels-error'), async () => {
    assertStreamAvailable(); // before adding a listener the page could not stream
    const { id } = await api('POST', `${channelPath(channelId)}/listeners`);
    mine.add(`${channelId}/${id}`);
    openStream(channelId, id);
    $('#send-channel').dataset.pick = channelId;
    await refreshChannels();
  });
}

function removeListener(channelId, listenerId) {
  return attempt($('#channels-error'), async () => {
    closeStream(channelId, listenerId);
    await api('DELETE', listenerPath(channelId, listenerId));
    await refreshChannels();
  });
}

function removeChannel(channelId) {
  return attempt($('#channels-error'), async () => {
    for (const stream of [...streams.values()]) {
      if (stream.channelId === channelId) closeStream(channelId, stream.listenerId);
    }
    await api('DELETE', channelPath(channelId));
    await refreshChannels();
  });
}

// ---------------------------------------------------------------------------------------------
// Streams: one EventSource per listener the page streams

/** Throws, with the reason, when the page already has `MAX_STREAMS` streams open. */
function assertStreamAvailable() {
  if (streams.size < MAX_STREAMS) return;
  throw new Error(
    `This page keeps at most ${MAX_STREAMS} streams open: a browser opens at most 6 connections to one server ` +
      `(over HTTP/1.1) and each stream holds one. Close a stream first.`,
  );
}

function openStream(channelId, listenerId) {
  const key = `${channelId}/${listenerId}`;
  if (streams.has(key)) return;
  assertStreamAvailable();
  const source = new EventSource(`${API}${listenerPath(channelId, listenerId)}/stream`);
  const stream = { channelId, listenerId, source, onEvent: (event) => logEvent(stream, event) };
  streams.set(key, stream);
  for (const type of eventTypes) source.addEventListener(type, stream.onEvent);
  source.addEventListener('error', () => {
    // While the server ends a stream the browser reconnects by itself; CLOSED means it gave up (e.g. 404).
    if (source.readyState !== EventSource.CLOSED || streams.get(key) !== stream) return;
    streams.delete(key);
    showError($('#channels-error'), `The stream of listener ${listenerId} (channel ${channelId}) closed.`);
    refreshChannels().catch(() => undefined);
  });
  renderChannels();
}

function closeStream(channelId, listenerId) {
  const key = `${channelId}/${listenerId}`;
  streams.get(key)?.source.close();
  streams.delete(key);
  renderChannels();
}

/** Makes every open stream (and every later one) deliver events of `type` to the log. */
function listenFor(type) {
  if (eventTypes.has(type)) return;
  eventTypes.add(type);
  for (const stream of streams.values()) stream.source.addEventListener(type, stream.onEvent);
}

function logEvent(stream, event) {
  // A connection failure is a plain Event named `error`; a message of type `error` is a MessageEvent.
  if (!(event instanceof MessageEvent)) return;
  const row = el(
    'tr',
    { 'data-type': event.type },
    el('td', { className: 'time' }, now()),
    el('td', {}, stream.channelId),
    el('td', {}, idLabel(stream.listenerId)),
    el('td', {}, el('span', { className: 'event-type' }, event.type)),
    el('td', { className: 'data' }, event.data),
  );
  const body = $('#events tbody');
  body.prepend(row);
  while (body.rows.length > MAX_LOG_ROWS) body.lastElementChild.remove();
  $('#events-empty').hidden = true;
}

function clearEvents() {
  $('#events tbody').replaceChildren();
  $('#events-empty').hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Sending: broadcast to a channel, or dispatch to one listener

function renderSendTargets() {
  const channelSelect = $('#send-channel');
  const wanted = channelSelect.dataset.pick || channelSelect.value;
  delete channelSelect.dataset.pick;
  channelSelect.replaceChildren(...channels.map(({ id }) => el('option', { value: id }, id)));
  if (channels.some(({ id }) => id === wanted)) channelSelect.value = wanted;
  renderListenerTargets();
}

function renderListenerTargets() {
  const toSelect = $('#send-to');
  const wanted = toSelect.value;
  const channel = channels.find(({ id }) => id === $('#send-channel').value);
  const listeners = channel?.listeners ?? [];
  toSelect.replaceChildren(
    el('option', { value: '' }, 'every listener (broadcast)'),
    ...listeners.map((id) => el('option', { value: id }, `listener ${shortId(id)}`)),
  );
  if (listeners.includes(wanted)) toSelect.value = wanted;
}

function send(event) {
  event.preventDefault();
  const errorTarget = $('#send-error');
  const status = $('#send-status');
  status.textContent = '';
  clearError(errorTarget);

  const channelId = $('#send-channel').value;
  const listenerId = $('#send-to').value;
  const type = $('#send-type').value.trim();
  const rawPayload = $('#send-payload').value.trim();
  if (channelId === '') return showError(errorTarget, 'Create a channel first.');
  if (type === '') return showError(errorTarget, 'A message needs a type.');
  let payload;
  if (rawPayload !== '') {
    try {
      payload = JSON.parse(rawPayload);
    } catch (error) {
      return showError(errorTarget, `The payload is not valid JSON: ${error.message}`);
    }
  }

  listenFor(type);
  const body = payload === undefined ? { type } : { type, payload };
  return attempt(errorTarget, async () => {
    if (listenerId === '') {
      await api('POST', `${channelPath(channelId)}/broadcast`, body);
      status.textContent = `Broadcast '${type}' on ${channelId}.`;
    } else {
      await api('POST', `${listenerPath(channelId, listenerId)}/messages`, body);
      status.textContent = `Sent '${type}' to listener ${shortId(listenerId)}.`;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Alice and Bob: the page watches the conversation channel; the button asks the sample to hold it

function watchConversation() {
  const button = $('#start-conversation');
  const status = $('#conversation-status');
  const source = new EventSource(`${API}${channelPath(CONVERSATION_CHANNEL)}/watch`);

  // Once open, the watch listener is on the channel: nothing the conversation says can be missed.
  source.addEventListener('open', () => {
    button.disabled = button.dataset.busy === 'true';
    if (button.dataset.busy !== 'true') status.textContent = 'Ready.';
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CONNECTING) return;
    button.disabled = true;
    status.textContent = `Not watching the ${CONVERSATION_CHANNEL} channel any more (was it removed?). Reload the page.`;
  });
  source.addEventListener('started', () => {
    $('#alice-steps').replaceChildren();
    $('#bob-steps').replaceChildren();
    status.textContent = 'Bob says hello…';
  });
  source.addEventListener('received', (event) => {
    const step = JSON.parse(event.data);
    const list = step.listener === 'Alice' ? $('#alice-steps') : $('#bob-steps');
    list.append(
      el(
        'li',
        { 'data-type': step.type },
        el('span', { className: 'event-type' }, step.type),
        step.type === 'stop' ? ' (listener stopped)' : step.from === null ? undefined : ` from ${step.from}`,
        step.payload === null ? undefined : el('q', {}, String(step.payload)),
        el('span', { className: 'time' }, now()),
      ),
    );
  });
  source.addEventListener('ended', () => {
    status.textContent = 'Both listeners stopped: the conversation is over.';
  });
}

async function startConversation() {
  const button = $('#start-conversation');
  button.disabled = true;
  button.dataset.busy = 'true';
  await attempt($('#conversation-error'), async () => {
    const response = await fetch('/conversation', { method: 'POST' });
    if (!response.ok) {
      const text = await response.text();
      throw new Error(`POST /conversation → ${response.status} ${describeError(parseJson(text), text)}`);
    }
  });
  button.dataset.busy = 'false';
  button.disabled = false;
}

// ---------------------------------------------------------------------------------------------

$('#create-channel').addEventListener('submit', createChannel);
$('#send').addEventListener('submit', send);
$('#send-channel').addEventListener('change', renderListenerTargets);
$('#refresh').addEventListener('click', () => attempt($('#channels-error'), refreshChannels));
$('#clear-events').addEventListener('click', clearEvents);
$('#start-conversation').addEventListener('click', startConversation);

watchConversation();
attempt($('#channels-error'), refreshChannels);
