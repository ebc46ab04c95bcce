// The kiosk page: talks to `ocp serve` (docs/KIOSK.md, section 1) and shows
// one screen at a time.  The bridge's Content-Security-Policy allows only
// files from the bridge itself, so there is no inline script or style, and
// the page changes classes and the `hidden` attribute, never `style`.

import { STRINGS, showDate, speakDate, showTime, yuan } from './i18n.js';

const TOKEN = document.querySelector('meta[name="ocp-token"]').content;
const PIN_MIN = 4;
const PIN_MAX = 8;
// The bridge ends a view after --idle seconds without an /api request; a
// holder who is using the page (keys, taps) keeps it open, at most one
// request per this many milliseconds.
const ACTIVITY_PING_MS = 15000;

const state = {
  lang: 'zh',
  screen: 'start',
  card: 'unknown',        // the last `card` event: present, absent
  readerOk: true,
  cardInfo: null,         // GET /api/card
  cardError: null,        // a key of STRINGS
  holder: null,           // GET /api/holder
  uses: null,             // GET /api/log
  holderError: null,
  holderNote: null,
  disShown: false,
  pinError: null,         // {key, n}
  change: { step: 'old', old: '', fresh: '' },
  changeError: null,
  idleLeft: 0,
  idleTimer: null,
  lastApi: 0,
};

const $ = (id) => document.getElementById(id);

function t(key, ...args) {
  const v = STRINGS[state.lang][key];
  return typeof v === 'function' ? v(...args) : v;
}

// ---- the bridge -------------------------------------------------------

async function api(method, path, body) {
  const headers = { 'X-OCP-Token': TOKEN };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  state.lastApi = Date.now();
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { status: 0, body: { error: 'network' } };
  }
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  return { status: res.status, body: data };
}

// ---- announcements ----------------------------------------------------

let lastAnnounced = { text: '', at: 0 };

// Polite for what happened, assertive for what went wrong.  The region is
// emptied first so that the same words twice are spoken twice.
function announce(text, assertive = false) {
  const now = Date.now();
  if (text === lastAnnounced.text && now - lastAnnounced.at < 1500) return;
  lastAnnounced = { text, at: now };
  const region = $(assertive ? 'live-alert' : 'live-status');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 60);
}

// ---- screens ----------------------------------------------------------

const SCREENS = ['start', 'card', 'pin', 'holder', 'change', 'done'];

function show(name) {
  state.screen = name;
  document.documentElement.dataset.screen = name;
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  render();
  // Each new screen is announced by its heading taking focus.
  $(`${name}-h`).focus();
}

function setText(id, text) {
  const el = $(id);
  el.textContent = text == null ? '' : text;
  return el;
}

function note(id, text, speakText) {
  const el = $(id);
  el.hidden = !text;
  el.textContent = text || '';
  if (speakText) el.dataset.speakText = speakText;
  else delete el.dataset.speakText;
}

function applyStatic() {
  const lang = state.lang;
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app_title');
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  const toggle = $('lang-toggle');
  toggle.textContent = t('lang_other');
  toggle.lang = lang === 'zh' ? 'en' : 'zh-CN';
}

function render() {
  applyStatic();
  renderStart();
  renderCard();
  pads.verify.render();
  note('pin-error', state.pinError && t(state.pinError.key, state.pinError.n),
    state.pinError && state.pinError.speak && t(state.pinError.speak, state.pinError.n));
  renderHolder();
  renderChange();
  renderIdle();
}

function renderStart() {
  note('start-reader', state.readerOk ? '' : t('reader_missing'));
  $('start-again').hidden = state.card !== 'present';
}

function renderCard() {
  const c = state.cardInfo;
  $('card-wait').hidden = !!(c || state.cardError);
  $('card-facts').hidden = !c;
  let noteText = '';
  let canPin = false;
  if (c) {
    setText('card-id', c.card_id);
    setText('card-state', t(`state_${c.state}`) || c.state);
    setText('card-issued', showDate(c.issued, state.lang)).dataset.speakText =
      speakDate(c.issued, state.lang);
    setText('card-expires', showDate(c.expires, state.lang)).dataset.speakText =
      speakDate(c.expires, state.lang);
    const sig = setText('card-sig', t(c.issuer_signature === 'valid' ? 'sig_valid' : 'sig_invalid'));
    sig.classList.toggle('bad', c.issuer_signature !== 'valid');
    if (c.state !== 'active') noteText = t('card_not_active');
    else if (c.pin_tries_left === 0) noteText = t('pin_blocked');
    else {
      canPin = c.issuer_signature === 'valid';
      if (c.pin_tries_left != null) noteText = t('card_tries', c.pin_tries_left);
    }
  }
  if (state.cardError) noteText = t(state.cardError);
  note('card-note', noteText);
  $('card-note').classList.toggle('notice-error', !!state.cardError || (c && !canPin));
  $('card-pin').hidden = !canPin;
}

function entitlementName(e) {
  if (state.lang === 'zh' && e.name_zh) return e.name_zh;
  return e.name || t('service_unknown', e.service);
}

function entitlementStatus(e) {
  if (e.kind === 'pass') return t('ent_pass');
  if (e.kind === 'counter') {
    const f = STRINGS[state.lang].ent_counter[e.period] || STRINGS[state.lang].ent_counter.none;
    return f(e.remaining, e.limit);
  }
  if (e.kind === 'balance') return t('ent_balance', yuan(e.balance_fen));
  return e.kind;
}

function renderHolder() {
  const h = state.holder;
  note('holder-note', state.holderNote && t(state.holderNote));
  note('holder-error', state.holderError && t(state.holderError));
  $('holder-wait').hidden = !!(h || state.holderError);
  $('holder-body').hidden = !h;
  if (!h) return;
  setText('holder-name', h.name);
  setText('holder-district', h.district);
  setText('holder-cert', h.cert_number_masked);
  setText('holder-valid', showDate(h.valid_until, state.lang));

  const d = h.disability || {};
  setText('dis-category', (STRINGS[state.lang].category[d.category_name]) || d.category_name || '');
  setText('dis-grade', d.grade ? t('grade', d.grade) : '');
  $('dis-details').hidden = !state.disShown;
  const toggle = $('dis-toggle');
  toggle.setAttribute('aria-expanded', String(state.disShown));
  toggle.textContent = t(state.disShown ? 'dis_hide' : 'dis_show');

  const list = $('ent-list');
  list.replaceChildren();
  for (const e of h.entitlements || []) {
    const li = document.createElement('li');
    const name = document.createElement('h3');
    name.textContent = entitlementName(e);
    const status = document.createElement('p');
    status.className = 'status';
    status.textContent = entitlementStatus(e);
    const meta = document.createElement('p');
    meta.className = 'meta';
    const domain = STRINGS[state.lang].domain[e.domain] || e.domain;
    meta.textContent = `${domain} · ${t('ent_valid', showDate(e.valid_from, state.lang), showDate(e.valid_to, state.lang))}`;
    li.append(name, status, meta);
    li.dataset.service = e.service;
    list.append(li);
  }
  if (!list.children.length) {
    const li = document.createElement('li');
    li.textContent = t('holder_no_services');
    list.append(li);
  }

  const uses = $('use-list');
  uses.replaceChildren();
  const byService = new Map((h.entitlements || []).map((e) => [e.service, e]));
  for (const u of state.uses || []) {
    const e = byService.get(u.service) || { service: u.service, name: u.name, name_zh: u.name_zh };
    const li = document.createElement('li');
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = showTime(u.time, state.lang);
    const what = document.createElement('span');
    const amount = e.kind === 'balance' ? t('use_yuan', yuan(u.amount)) : t('use_times', u.amount);
    what.textContent = t('use_line', entitlementName(e), amount);
    li.append(when, ' ', what);
    uses.append(li);
  }
  if (!uses.children.length) {
    const li = document.createElement('li');
    li.textContent = t('holder_no_uses');
    uses.append(li);
  }
}

const CHANGE_STEPS = { old: 'change_old', fresh: 'change_new', again: 'change_again' };

function renderChange() {
  setText('change-step', t(CHANGE_STEPS[state.change.step]));
  pads.change.render();
  const e = state.changeError;
  note('change-error', e && t(e.key, e.n), e && e.speak && t(e.speak, e.n));
}

function renderIdle() {
  setText('idle-p', t('idle_p', state.idleLeft));
}

// ---- the PIN pad --------------------------------------------------------

// A row of dots (never the digits) and a count for screen readers, a
// 3 × 4 keypad, and the physical keyboard while its screen is shown.
class PinPad {
  constructor(container, onSubmit) {
    this.digits = '';
    this.busy = false;
    this.onSubmit = onSubmit;
    const display = document.createElement('div');
    display.className = 'pin-display';
    this.dots = document.createElement('div');
    this.dots.className = 'pin-dots';
    this.dots.setAttribute('aria-hidden', 'true');
    for (let i = 0; i < PIN_MAX; i++) this.dots.append(document.createElement('span'));
    this.count = document.createElement('p');
    this.count.className = 'pin-count';
    display.append(this.dots, this.count);

    this.keypad = document.createElement('div');
    this.keypad.className = 'keypad';
    this.keypad.setAttribute('role', 'group');
    this.keys = {};
    for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'del', '0', 'ok']) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn key';
      b.dataset.key = k;
      if (k === 'ok') b.classList.add('btn-primary');
      if (k === 'del') b.classList.add('key-del');
      b.textContent = k;
      b.addEventListener('click', () => this.key(k));
      this.keys[k] = b;
      this.keypad.append(b);
    }
    this.clearBtn = document.createElement('button');
    this.clearBtn.type = 'button';
    this.clearBtn.className = 'btn key-clear';
    this.clearBtn.dataset.key = 'clear';
    this.clearBtn.addEventListener('click', () => this.key('clear'));
    container.append(display, this.keypad, this.clearBtn);
  }

  key(k) {
    if (this.busy) return;
    if (/^[0-9]$/.test(k)) {
      if (this.digits.length >= PIN_MAX) return;
      this.digits += k;
    } else if (k === 'del') {
      this.digits = this.digits.slice(0, -1);
    } else if (k === 'clear') {
      this.digits = '';
    } else if (k === 'ok') {
      this.onSubmit(this);
      return;
    }
    this.render();
    announce(t('pin_count', this.digits.length));
  }

  take() {
    const d = this.digits;
    this.digits = '';
    this.render();
    return d;
  }

  render() {
    const n = this.digits.length;
    [...this.dots.children].forEach((s, i) => s.classList.toggle('on', i < n));
    this.count.textContent = t('pin_count', n);
    this.count.dataset.speakText = t('pin_count_words', n);
    this.keypad.setAttribute('aria-label', t('pin_h'));
    this.keys.del.textContent = t('key_delete');
    this.keys.ok.textContent = t('key_ok');
    this.clearBtn.textContent = t('key_clear');
  }
}

const pads = {
  verify: new PinPad(document.querySelector('[data-pad="verify"]'), submitPin),
  change: new PinPad(document.querySelector('[data-pad="change"]'), submitChange),
};

function activePad() {
  if ($('idle').open) return null;
  if (state.screen === 'pin') return pads.verify;
  if (state.screen === 'change') return pads.change;
  return null;
}

document.addEventListener('keydown', (ev) => {
  const pad = activePad();
  if (!pad || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (/^[0-9]$/.test(ev.key)) {
    ev.preventDefault();
    pad.key(ev.key);
  } else if (ev.key === 'Backspace') {
    ev.preventDefault();
    pad.key('del');
  } else if (ev.key === 'Escape') {
    pad.key('clear');
  } else if (ev.key === 'Enter') {
    // Enter on a focused button presses that button; elsewhere it is OK.
    if (document.activeElement && document.activeElement.tagName === 'BUTTON') return;
    ev.preventDefault();
    pad.key('ok');
  }
});

// ---- the flow -----------------------------------------------------------

function forget() {
  state.cardInfo = null;
  state.cardError = null;
  state.holder = null;
  state.uses = null;
  state.holderError = null;
  state.holderNote = null;
  state.disShown = false;
  state.pinError = null;
  state.changeError = null;
  state.change = { step: 'old', old: '', fresh: '' };
  pads.verify.take();
  pads.change.take();
  // Nothing of the holder stays in the page once they have gone.
  for (const id of ['holder-name', 'holder-district', 'holder-cert', 'holder-valid',
    'dis-category', 'dis-grade', 'card-id']) setText(id, '');
  $('ent-list').replaceChildren();
  $('use-list').replaceChildren();
  closeIdle();
}

function toStart() {
  forget();
  show('start');
}

async function openCard() {
  forget();
  show('card');
  const r = await api('GET', '/api/card');
  if (state.screen !== 'card') return;
  if (r.status === 200) {
    state.cardInfo = r.body;
  } else if (r.status === 409 && r.body.error === 'no_card') {
    toStart();
    return;
  } else {
    state.cardError = r.body.error === 'not_ocp' ? 'card_not_ocp'
      : r.status === 0 ? 'net_error' : 'card_error';
    announce(t(state.cardError), true);
  }
  render();
}

async function submitPin(pad) {
  if (pad.digits.length < PIN_MIN) {
    state.pinError = { key: 'pin_too_short' };
    render();
    announce(t('pin_too_short'), true);
    return;
  }
  const pin = pad.take();
  pad.busy = true;
  state.pinError = null;
  render();
  announce(t('pin_checking'));
  const r = await api('POST', '/api/pin/verify', { pin });
  pad.busy = false;
  if (state.screen !== 'pin') return;
  if (r.status === 200) {
    announce(t('pin_ok'));
    openHolder();
    return;
  }
  pinFailure(r, (e) => { state.pinError = e; });
  render();
}

// Maps a PIN refusal to an error on screen; ends on the start screen when
// the card has gone or the view has closed.
function pinFailure(r, set) {
  const err = r.body.error;
  let e;
  if (err === 'wrong_pin') e = { key: 'wrong_pin', speak: 'wrong_pin_words', n: r.body.tries_left };
  else if (err === 'pin_blocked') e = { key: 'pin_blocked' };
  else if (err === 'card_blocked') e = { key: 'card_blocked' };
  else if (err === 'pin_format') e = { key: 'pin_too_short' };
  else if (err === 'no_card' || err === 'pin_required') {
    toStart();
    return;
  } else e = { key: r.status === 0 ? 'net_error' : 'card_error' };
  set(e);
  announce(t(e.key, e.n), true);
}

async function openHolder(noteKey = null) {
  state.holder = null;
  state.uses = null;
  state.holderError = null;
  state.holderNote = noteKey;
  show('holder');
  const [h, log] = await Promise.all([api('GET', '/api/holder'), api('GET', '/api/log')]);
  if (state.screen !== 'holder') return;
  if (h.status === 401) {
    toStart();
    return;
  }
  if (h.status !== 200) {
    state.holderError = 'holder_error';
    announce(t('holder_error'), true);
  } else {
    state.holder = h.body;
    state.uses = log.status === 200 ? log.body.uses || [] : [];
  }
  render();
}

function toggleDisability() {
  state.disShown = !state.disShown;
  render();
  if (state.disShown) {
    announce(t('ann_dis_shown'));
    speak(spokenText($('dis-details')));
  } else {
    announce(t('ann_dis_hidden'));
  }
}

function startChange() {
  state.change = { step: 'old', old: '', fresh: '' };
  state.changeError = null;
  pads.change.take();
  show('change');
}

async function submitChange(pad) {
  const c = state.change;
  if (pad.digits.length < PIN_MIN) {
    state.changeError = { key: 'pin_too_short' };
    render();
    announce(t('pin_too_short'), true);
    return;
  }
  state.changeError = null;
  const pin = pad.take();
  if (c.step === 'old') {
    c.old = pin;
    c.step = 'fresh';
  } else if (c.step === 'fresh') {
    if (pin === c.old) {
      state.changeError = { key: 'change_same' };
      announce(t('change_same'), true);
    } else {
      c.fresh = pin;
      c.step = 'again';
    }
  } else if (pin !== c.fresh) {
    c.fresh = '';
    c.step = 'fresh';
    state.changeError = { key: 'change_mismatch' };
    announce(t('change_mismatch'), true);
  } else {
    pad.busy = true;
    announce(t('change_working'));
    const r = await api('POST', '/api/pin/change', { old: c.old, new: c.fresh });
    pad.busy = false;
    state.change = { step: 'old', old: '', fresh: '' };
    if (state.screen !== 'change') return;
    if (r.status === 200) {
      announce(t('change_done'));
      openHolder('change_done');
      return;
    }
    pinFailure(r, (e) => { state.changeError = e; });
  }
  render();
  $('change-h').focus();
}

async function finish() {
  await api('POST', '/api/end');
  forget();
  show('done');
}

// ---- events from the bridge --------------------------------------------

function onCard(data) {
  const was = state.card;
  state.card = data.state;
  document.documentElement.dataset.card = data.state;
  if (data.state === 'present') {
    if (was !== 'present') announce(t('ann_card_in'));
    if (state.screen === 'start' || state.screen === 'done') openCard();
    else render();
  } else if (data.state === 'absent') {
    if (was === 'present') announce(t('ann_card_out'));
    toStart();
  }
}

function onSession(data) {
  if (data.state !== 'ended') return;
  document.documentElement.dataset.session = data.reason;
  if (data.reason === 'removed') {
    announce(t('ann_card_out'));
    toStart();
  } else if (data.reason === 'idle') {
    announce(t('ann_ended_idle'));
    toStart();
  } else if (state.screen !== 'done') {
    announce(t('ann_ended'));
    toStart();
  }
}

function closeIdle() {
  clearInterval(state.idleTimer);
  state.idleTimer = null;
  const d = $('idle');
  if (d.open) d.close();
}

function onIdleWarning(data) {
  if (state.screen === 'start') return;
  state.idleLeft = Math.max(0, Math.round(Number(data.seconds_left) || 0));
  renderIdle();
  const d = $('idle');
  if (!d.open) d.showModal();
  $('idle-continue').focus();
  announce(t('idle_warning'), true);
  clearInterval(state.idleTimer);
  state.idleTimer = setInterval(() => {
    state.idleLeft = Math.max(0, state.idleLeft - 1);
    renderIdle();
  }, 1000);
}

async function keepGoing() {
  closeIdle();
  // Any /api request resets the bridge's idle clock.
  await api('GET', '/api/readers');
  const h = $(`${state.screen}-h`);
  if (h) h.focus();
}

function onReader(data) {
  state.readerOk = data.state !== 'unavailable';
  if (!state.readerOk) announce(t('reader_missing'), true);
  render();
}

let events = null;

function connect() {
  events = new EventSource(`/api/events?token=${encodeURIComponent(TOKEN)}`);
  const on = (name, f) => events.addEventListener(name, (ev) => {
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    f(data);
  });
  on('card', onCard);
  on('session', onSession);
  on('idle-warning', onIdleWarning);
  on('reader', onReader);
  events.addEventListener('error', () => {
    // EventSource retries on its own, unless the bridge refused outright.
    if (events.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  });
}

// ---- reading aloud --------------------------------------------------------

const BLOCKS = new Set(['H1', 'H2', 'H3', 'P', 'LI', 'DIV', 'DD', 'DL', 'UL', 'OL', 'SECTION']);

// The words of what is on screen, as a sighted holder reads them: hidden
// parts, buttons, the PIN pad and `data-speak="skip"` left out, and an
// element's `data-speak-text` said in place of its text (dates and counts
// in words, since no run of digits may be spoken before the PIN).
export function spokenText(root) {
  const parts = [];
  const stop = state.lang === 'zh' ? '。' : '. ';
  const end = () => {
    const last = parts.length ? parts[parts.length - 1] : '';
    if (last && !/[。！？.!?：:，,]\s*$/.test(last)) parts.push(stop);
  };
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const s = node.textContent.replace(/\s+/g, ' ').trim();
      if (s) parts.push(parts.length && !/[。：\s]$/.test(parts[parts.length - 1]) ? ` ${s}` : s);
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const el = node;
    if (el.hidden || el.getAttribute('aria-hidden') === 'true' || el.dataset.speak === 'skip' ||
        el.tagName === 'BUTTON' || el.tagName === 'SCRIPT') return;
    if (el.dataset.speakText !== undefined) {
      parts.push(parts.length ? ` ${el.dataset.speakText}` : el.dataset.speakText);
    } else {
      for (const c of el.childNodes) walk(c);
    }
    if (el.tagName === 'DT') parts.push(state.lang === 'zh' ? '：' : ': ');
    else if (BLOCKS.has(el.tagName)) end();
  };
  walk(root);
  return parts.join('').replace(/\s+/g, ' ').trim();
}

async function speak(text) {
  if (!text) return;
  const r = await api('POST', '/api/speak', {
    text,
    lang: state.lang,
    pin_screen: state.screen === 'pin' || state.screen === 'change',
  });
  if (r.status !== 200) announce(t('speak_failed'), true);
}

function readAloud() {
  const d = $('idle');
  speak(spokenText(d.open ? d : $(`screen-${state.screen}`)));
}

// ---- wiring -------------------------------------------------------------

function toggleLanguage() {
  state.lang = state.lang === 'zh' ? 'en' : 'zh';
  render();
}

$('lang-toggle').addEventListener('click', toggleLanguage);
$('read-aloud').addEventListener('click', readAloud);
$('start-go').addEventListener('click', openCard);
$('card-pin').addEventListener('click', () => {
  state.pinError = null;
  pads.verify.take();
  show('pin');
});
$('card-finish').addEventListener('click', finish);
$('pin-back').addEventListener('click', () => {
  pads.verify.take();
  show('card');
});
$('dis-toggle').addEventListener('click', toggleDisability);
$('holder-change').addEventListener('click', startChange);
$('holder-finish').addEventListener('click', finish);
$('change-cancel').addEventListener('click', () => {
  pads.change.take();
  state.change = { step: 'old', old: '', fresh: '' };
  openHolder();
});
$('done-again').addEventListener('click', () => {
  if (state.card === 'present') openCard();
  else show('start');
});
$('idle-continue').addEventListener('click', keepGoing);
$('idle').addEventListener('cancel', (ev) => {
  // Escape in the warning means "I am here", as the button does.
  ev.preventDefault();
  keepGoing();
});

// Someone using the page keeps the view open (see ACTIVITY_PING_MS).
for (const kind of ['keydown', 'pointerdown']) {
  document.addEventListener(kind, () => {
    if (state.screen === 'start' || state.screen === 'done') return;
    if (Date.now() - state.lastApi > ACTIVITY_PING_MS) api('GET', '/api/readers');
  }, { passive: true });
}

render();
show('start');
$('start-h').blur();
connect();
