// sync.js is the WebSocket client of docs/PROTOCOL.md: it says hello with the
// last sequence number it applied, loads the snapshot or the missed changes
// into a local store keyed by kind and id, resumes after a drop with backoff,
// and sends ops with client-made UUIDs through an outbox kept in
// localStorage, so an edit made offline survives a reload and is sent again
// with the same id until the server acks or refuses it (the server applies
// an id once).

import { uuid } from './render.js';

// COLLECTIONS maps the snapshot's collections to the change kinds.
const COLLECTIONS = {
  actionGroups: 'actionGroup',
  members: 'member',
  profiles: 'profile',
  groups: 'group',
  bilans: 'bilan',
  checks: 'check',
  decisions: 'decision',
  merge: 'merge',
  merges: 'merge',
};

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;
// ACK_TIMEOUT_MS: an op unanswered this long on an open socket means the
// connection is dead without knowing it; it is closed and resumed.
const ACK_TIMEOUT_MS = 10000;

// Store is the client's copy of the view: kind -> id -> value, plus the
// connection facts (role, member id, presence, clock offset).
export class Store {
  constructor() {
    this.kinds = new Map();
    this.presence = { connected: 0, groups: {}, members: [], screens: 0 };
    this.role = '';
    this.memberId = '';
    this.audience = '';
    this.clockOffset = 0;
  }

  all(kind) {
    const m = this.kinds.get(kind);
    return m ? [...m.values()] : [];
  }

  get(kind, id) {
    const m = this.kinds.get(kind);
    return m ? m.get(id) : undefined;
  }

  set(kind, id, value) {
    let m = this.kinds.get(kind);
    if (!m) { m = new Map(); this.kinds.set(kind, m); }
    if (value === null || value === undefined) m.delete(id);
    else m.set(id, value);
  }

  // setList applies a change of kind "list" (id "<group id>/<binome key>"):
  // one list of a group. The store keeps lists inside their group, as the
  // snapshot does, so the pages see a new group value.
  setList(id, value) {
    const i = id.indexOf('/');
    if (i < 1) return;
    const groupId = id.slice(0, i), binome = id.slice(i + 1);
    const g = this.get('group', groupId);
    if (!g || !g.lists) return; // only sent to those who hold the group's lists
    this.set('group', groupId, { ...g, lists: { ...g.lists, [binome]: value } });
  }

  get meeting() {
    return this.get('meeting', '') || {};
  }

  // now is the server's clock as well as we know it (timers).
  now() {
    return Date.now() + this.clockOffset;
  }

  loadSnapshot(state) {
    this.kinds = new Map();
    const rest = {};
    for (const [k, v] of Object.entries(state || {})) {
      const kind = COLLECTIONS[k];
      if (!kind) { rest[k] = v; continue; }
      for (const [id, value] of Object.entries(v || {})) this.set(kind, id, value);
    }
    // The view nests the meeting's own fields under "meeting"
    // (meeting.StateView); the rest (id, seq, audience) is about the view.
    this.set('meeting', '', rest.meeting && typeof rest.meeting === 'object' ? rest.meeting : rest);
  }
}

// Sync is one screen's live connection to a meeting.
//   scope: "phone" | "console" | "screen" (names the outbox)
//   token: the participant's secret, or "" (the server uses the cookie)
// Listeners: onUpdate(kinds:Set), onStatus(status), onWelcome(frame),
// onRefused(frame, op), onFatal(frame), onAck(id).
export class Sync {
  constructor({ meetingId, token = '', as = '', scope, lang = 'fr', readOnly = false, keepView = false }) {
    this.meetingId = meetingId;
    this.token = token;
    // as names the cookie a token-less screen relies on ("projector" or
    // "facilitator"): a projector browser that also holds the facilitator's
    // cookie still gets the redacted view.
    this.as = as;
    this.lang = lang;
    this.readOnly = readOnly;
    this.store = new Store();
    this.lastSeq = 0;
    this.ws = null;
    this.open = false;
    this.stopped = false;
    this.attempt = 0;
    // plainHello: the last hello was refused "bad_hello", as a server older
    // than this page refuses the fields it does not know (during a rolling
    // deploy): the next one says neither batch nor lists, which every
    // server reads; a welcome ends it.
    this.plainHello = false;
    this.retryTimer = 0;
    this.ackTimer = 0;
    this.outboxKey = `outbox:${scope}:${meetingId}`;
    this.outbox = this.readOutbox();
    // keepView keeps the last view in sessionStorage (this tab only, gone
    // when it closes) so a reload without network still shows the meeting
    // and the edits waiting to be sent; the hello then resumes from its seq.
    this.viewKey = keepView ? `view:${scope}:${meetingId}` : '';
    this.saveTimer = 0;
    this.restoreView();
    this.status = '';
    this.listeners = { update: [], status: [], welcome: [], refused: [], fatal: [], ack: [] };
    this.onOnline = () => { this.attempt = 0; this.connectSoon(0); };
    this.onOffline = () => { if (this.ws) this.ws.close(); this.setStatus(); };
  }

  on(event, fn) {
    this.listeners[event].push(fn);
    return this;
  }

  emit(event, ...args) {
    for (const fn of this.listeners[event]) {
      try { fn(...args); } catch (e) { console.error(e); }
    }
  }

  start() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    if (this.viewKey) window.addEventListener('pagehide', () => this.saveView());
    this.setStatus();
    if (this.lastSeq) this.emit('update', new Set(['*']));
    this.connect();
    return this;
  }

  restoreView() {
    if (!this.viewKey) return;
    try {
      const v = JSON.parse(sessionStorage.getItem(this.viewKey) || 'null');
      if (!v || !v.seq || !v.kinds) return;
      const s = this.store;
      for (const [kind, entries] of Object.entries(v.kinds)) {
        for (const [id, value] of Object.entries(entries)) s.set(kind, id, value);
      }
      s.role = v.role || '';
      s.memberId = v.memberId || '';
      s.audience = v.audience || '';
      this.lastSeq = v.seq;
    } catch {
      // a broken cache is ignored: the server sends a snapshot.
    }
  }

  saveView() {
    clearTimeout(this.saveTimer);
    this.saveTimer = 0;
    if (!this.viewKey || !this.lastSeq) return;
    const s = this.store;
    const kinds = {};
    for (const [kind, m] of s.kinds) kinds[kind] = Object.fromEntries(m);
    try {
      sessionStorage.setItem(this.viewKey, JSON.stringify({
        seq: this.lastSeq, kinds, role: s.role, memberId: s.memberId, audience: s.audience,
      }));
    } catch {
      // storage full: the next load asks the server for everything.
    }
  }

  forgetView() {
    if (this.viewKey) try { sessionStorage.removeItem(this.viewKey); } catch { /* ignore */ }
  }

  scheduleSave() {
    if (this.viewKey && !this.saveTimer) this.saveTimer = setTimeout(() => this.saveView(), 1000);
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    clearTimeout(this.retryTimer);
    clearTimeout(this.ackTimer);
    if (this.ws) this.ws.close();
  }

  setLang(lang) {
    this.lang = lang;
  }

  // send queues an op (type and payload as in meeting/ops.go) and sends it
  // when the socket is open; it returns the op's id.
  send(op, payload) {
    const entry = { id: uuid(), op, payload };
    this.outbox.push(entry);
    this.saveOutbox();
    if (this.open) this.transmit(entry);
    this.setStatus();
    return entry.id;
  }

  pending() {
    return this.outbox.length;
  }

  readOutbox() {
    try {
      const v = JSON.parse(localStorage.getItem(this.outboxKey) || '[]');
      return Array.isArray(v) ? v.filter((e) => e && e.id && e.op) : [];
    } catch {
      return [];
    }
  }

  saveOutbox() {
    try {
      if (this.outbox.length) localStorage.setItem(this.outboxKey, JSON.stringify(this.outbox));
      else localStorage.removeItem(this.outboxKey);
    } catch {
      // storage full or disabled: the outbox still lives in memory.
    }
  }

  dropFromOutbox(id) {
    const i = this.outbox.findIndex((e) => e.id === id);
    if (i < 0) return null;
    const [entry] = this.outbox.splice(i, 1);
    this.saveOutbox();
    return entry;
  }

  transmit(entry) {
    try {
      this.ws.send(JSON.stringify({ type: 'op', id: entry.id, op: entry.op, payload: entry.payload }));
    } catch {
      return;
    }
    this.armAckTimer();
  }

  armAckTimer() {
    clearTimeout(this.ackTimer);
    if (!this.outbox.length) return;
    this.ackTimer = setTimeout(() => {
      if (this.outbox.length && this.ws) this.ws.close();
    }, ACK_TIMEOUT_MS);
  }

  setStatus() {
    let s;
    if (!this.open) s = 'offline';
    else if (this.storeDown) s = 'unavailable';
    else if (this.outbox.length) s = 'sending';
    else s = 'saved';
    if (s !== this.status) {
      this.status = s;
      this.emit('status', s);
    }
  }

  connectSoon(delay) {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  connect() {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= 1) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/ws`);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      // batch: this client splits messages on newlines (several frames each);
      // lists: it reads changes of kind "list" (one list of a group).
      const hello = { type: 'hello', meeting: this.meetingId, lastSeq: this.lastSeq, lang: this.lang };
      if (!this.plainHello) Object.assign(hello, { batch: true, lists: true });
      if (this.token) hello.token = this.token;
      else if (this.as) hello.as = this.as;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      // A message holds one frame or several, one per line (docs/PROTOCOL.md).
      for (const line of String(ev.data).split('\n')) {
        if (ws !== this.ws) return;
        let f;
        try { f = JSON.parse(line); } catch { continue; }
        this.handle(f);
      }
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.open = false;
      clearTimeout(this.ackTimer);
      this.setStatus();
      this.closed(ev.code);
    };
    ws.onerror = () => {};
  }

  // closed follows the close codes of docs/PROTOCOL.md.
  closed(code) {
    if (this.stopped) return;
    switch (code) {
      case 4001: // unauthorized
      case 4005: // token revoked
      case 4004: // no such meeting
        this.stopped = true;
        this.forgetView();
        this.emit('fatal', { code: code === 4004 ? 'not_found' : 'unauthorized' });
        return;
      case 4003: // the view changed (rapporteur made or unmade): start afresh
        this.lastSeq = 0;
        this.forgetView();
        this.attempt = 0;
        this.connectSoon(0);
        return;
      case 4008: // too slow: nothing lost, resume at once
        this.attempt = 0;
        this.connectSoon(0);
        return;
      default:
        this.retry();
    }
  }

  retry() {
    if (this.stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt++;
    this.connectSoon(base / 2 + Math.random() * base / 2);
  }

  handle(f) {
    const s = this.store;
    switch (f.type) {
      case 'welcome':
        this.attempt = 0;
        this.plainHello = false;
        s.role = f.role || '';
        s.memberId = f.memberId || '';
        s.audience = f.audience || '';
        if (f.now) s.clockOffset = new Date(f.now).getTime() - Date.now();
        this.open = true;
        this.storeDown = false; // no status frame means the server can save
        this.emit('welcome', f);
        // Everything not acked yet goes again, in order, with its id.
        for (const e of this.outbox) this.transmit(e);
        this.setStatus();
        break;
      case 'snapshot':
        s.loadSnapshot(f.state);
        this.lastSeq = f.seq || 0;
        this.scheduleSave();
        this.emit('update', new Set(['*']));
        break;
      case 'changes': {
        if (f.seq && f.seq <= this.lastSeq) break;
        const kinds = new Set();
        for (const c of f.changes || []) {
          if (c.kind === 'list') {
            s.setList(c.id, c.value);
            kinds.add('group');
            continue;
          }
          s.set(c.kind, c.id, c.value);
          kinds.add(c.kind);
        }
        if (f.seq) this.lastSeq = f.seq;
        this.scheduleSave();
        if (kinds.size) this.emit('update', kinds);
        break;
      }
      case 'ack':
        if (this.dropFromOutbox(f.id)) this.emit('ack', f.id);
        this.armAckTimer();
        this.setStatus();
        break;
      case 'refused': {
        if (f.code === 'unavailable') break; // kept: sent again on the next connection
        const entry = this.dropFromOutbox(f.id);
        this.armAckTimer();
        this.setStatus();
        this.emit('refused', f, entry);
        break;
      }
      case 'status':
        // The server cannot save edits while its op log is down: keep the
        // outbox, say so, and send it again (same ids) once it is back.
        this.storeDown = f.available === false;
        if (!this.storeDown) {
          for (const e of this.outbox) this.transmit(e);
          this.armAckTimer();
        }
        this.setStatus();
        break;
      case 'presence':
        s.presence = { connected: 0, groups: {}, members: [], screens: 0, ...f };
        this.emit('update', new Set(['presence']));
        break;
      case 'error':
        if (f.code === 'bad_hello') this.plainHello = true; // then 4000: retried
        if (f.code === 'unauthorized' || f.code === 'not_found') {
          if (this.stopped) break;
          this.stopped = true;
          this.forgetView();
          this.emit('fatal', f);
        }
        break;
      default:
        break;
    }
  }
}
