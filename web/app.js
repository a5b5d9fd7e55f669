// simkyc counter console: the clerk's side of one verification, the supervisor's review queue, the
// auditor's look-up and the admin's keys (docs/service.md, docs/openapi.yaml).
// Plain browser JavaScript, no build step, no outside resources; served by `simkyc serve` with a
// Content-Security-Policy that allows only this origin (so: no inline script or style here).
// Every word on screen comes from i18n/<lang>.json (Simplified Chinese by default, English); the
// customer hints come from the service in the language asked for (Accept-Language).
// The console never shows a score to a clerk: the API does not send one; auditors see scores.
'use strict';

(() => {
  const KEY_STORE = 'simkyc.apiKey';   // sessionStorage only: forgotten when the tab closes
  const LANG_STORE = 'simkyc.lang';    // sessionStorage: the language chosen in this tab
  const LANGS = ['zh-CN', 'en'];
  const STEPS = ['key', 'start', 'consent', 'document', 'live', 'decision'];
  const SCREENS = { counter: null, reviews: 'screen-reviews', audit: 'screen-audit', keys: 'screen-keys' };
  // Which screens each role sees (the service enforces the same: docs/service.md "Keys and roles").
  const ROLE_SCREENS = {
    clerk: ['counter'],
    supervisor: ['counter', 'reviews'],
    auditor: ['audit'],
    admin: ['counter', 'reviews', 'keys'],   // audit entries (scores) are the auditor's
  };
  // Challenge capture: ~8 frames/s, a straight look first and between actions (the server's
  // limits: 6-90 frames, gaps <= 2 s, <= 20 s in all; docs/liveness.md).
  const FRAME_MS = 125, LEAD_MS = 1200, ACTION_MS = 2200, BETWEEN_MS = 800, MAX_FRAMES = 90;
  const FRAME_WIDTH = 640;
  const REVIEW_POLL_MS = 4000;
  // Request timeout: 30 s, or ?timeout_ms=N (2000-120000) for a slow link or a test.
  const TIMEOUT_MS = (() => {
    const v = Number(new URLSearchParams(location.search).get('timeout_ms'));
    return Number.isFinite(v) && v >= 2000 && v <= 120000 ? v : 30000;
  })();
  // Errors that are the clerk's to fix (the key, the network, the camera): no customer hint.
  const CLERK_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'NETWORK', 'TIMEOUT', 'CAMERA_DENIED', 'CAMERA_UNAVAILABLE',
    'CAMERA_INSECURE', 'CAMERA_OFF', 'REVIEW_OWN_CASE', 'LIVE_FILE_NOT_ALLOWED', 'SERVER_ERROR', 'BAD_REQUEST']);

  const $ = (id) => document.getElementById(id);
  const state = {
    session: null, consentVersion: '', stream: null, busy: false, lightTimer: 0, reviewTimer: 0,
    me: null, screen: 'counter', step: 'key', retry: null, lastError: null, lastDecision: null, guideKey: 'live.guide',
  };

  // ------------------------------------------------------------------------------ i18n
  let lang = LANGS.includes(sessionStorage.getItem(LANG_STORE)) ? sessionStorage.getItem(LANG_STORE) : 'zh-CN';
  let messages = {};
  const catalogues = {};

  async function loadCatalogue(l) {
    if (!catalogues[l]) {
      const r = await fetch(`i18n/${l}.json`, { cache: 'no-cache' });
      if (!r.ok) throw new Error(`i18n/${l}.json: HTTP ${r.status}`);
      catalogues[l] = await r.json();
    }
    return catalogues[l];
  }

  // The message for key in the current language, with {name} replaced from vars.
  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return s;
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t('app.title');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-alt]')) el.alt = t(el.dataset.i18nAlt);
    for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
    for (const b of document.querySelectorAll('.lang button')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
    $('screens').setAttribute('aria-label', t('nav.screens'));
    $('steps-nav').setAttribute('aria-label', t('nav.steps'));
    keyState();
    sessionInfo();
    guide(state.guideKey);
    if (state.lastError) showError(state.lastError, state.retry);
    if (state.lastDecision) renderDecision(state.lastDecision);
    prepareChallengeList();
  }

  async function setLanguage(l) {
    messages = await loadCatalogue(l);
    lang = l;
    sessionStorage.setItem(LANG_STORE, l);
    applyLanguage();
    // Hints already on screen came from the service in the old language: ask again.
    if (state.screen === 'reviews' && !$('screen-reviews').hidden) loadReviews().catch(() => {});
  }

  // ---------------------------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.message ? body.message : `HTTP ${status}`);
      this.status = status;
      this.code = (body && body.code) || (status >= 500 ? 'SERVER_ERROR' : `HTTP_${status}`);
      this.hint = (body && body.hint) || '';
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORE) || ''}`, 'Accept-Language': lang };
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    const init = { method, headers, cache: 'no-store', signal: ctl.signal };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res, data = null;
    try {
      res = await fetch(path, init);
      try { data = await res.json(); } catch { /* not JSON */ }
    } catch (e) {
      if (ctl.signal.aborted) throw new ApiError(0, { code: 'TIMEOUT' });
      throw new ApiError(0, { code: 'NETWORK' });
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // ------------------------------------------------------------------------------ display
  // An error: the clerk's title (from the catalogue by code), the customer's hint from the service
  // (when the customer can act on it), the code, and a retry button when the action can be retried.
  function showError(e, retry) {
    const box = $('error');
    state.lastError = e || null;
    state.retry = e ? retry || null : null;
    if (!e) { box.hidden = true; return; }
    const known = Object.prototype.hasOwnProperty.call(messages, `err.${e.code}`);
    $('error-title').textContent = known ? t(`err.${e.code}`) : t('err.generic');
    const customer = !CLERK_CODES.has(e.code) && e.hint;
    $('error-hint').textContent = customer ? `${t('err.tell_customer')} ${e.hint}` : '';
    $('error-hint').hidden = !customer;
    $('error-code').textContent = e.code || '';
    $('error-retry').hidden = !state.retry;
    box.hidden = false;
  }

  function hideAllSections() {
    for (const s of STEPS) $(`step-${s}`).hidden = true;
    for (const id of Object.values(SCREENS)) if (id) $(id).hidden = true;
  }

  function go(step) {
    state.step = step;
    state.screen = 'counter';
    hideAllSections();
    $(`step-${step}`).hidden = false;
    $('steps-nav').hidden = false;
    for (const li of $('steps').children) {
      if (li.dataset.step === step) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    }
    markTab('counter');
    if (step !== 'live') stopCamera();
    if (step !== 'decision') stopReviewPoll();
    const h = document.querySelector(`#step-${step} h2`);
    if (h) h.focus();
    document.body.dataset.step = step;
  }

  function goScreen(name) {
    if (name === 'counter') { go(state.session && state.step !== 'key' ? state.step : 'start'); return; }
    state.screen = name;
    stopCamera();
    hideAllSections();
    $('steps-nav').hidden = true;
    $(SCREENS[name]).hidden = false;
    markTab(name);
    const h = document.querySelector(`#${SCREENS[name]} h2`);
    if (h) h.focus();
    document.body.dataset.step = name;
    if (name === 'reviews') act($('reviews-refresh'), loadReviews);
  }

  function markTab(name) {
    for (const b of document.querySelectorAll('#tabs button')) {
      if (b.dataset.screen === name) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
  }

  function showTabs() {
    const allowed = state.me ? ROLE_SCREENS[state.me.role] || [] : [];
    for (const b of document.querySelectorAll('#tabs button')) b.parentElement.hidden = !allowed.includes(b.dataset.screen);
    $('screens').hidden = allowed.length < 2;
    return allowed;
  }

  function keyState() {
    const k = sessionStorage.getItem(KEY_STORE);
    const role = state.me ? t(`role.${state.me.role}`) : '';
    $('key-state').textContent = k ? t('key.state', { key: `${k.split('_').slice(0, 2).join('_')}_…`, role }) : t('key.none');
    $('key-forget').hidden = !k;
  }

  function sessionInfo() {
    const s = state.session;
    $('session-info').textContent = s
      ? t('session.info', { id: s.session_id, channel: t(`channel.${s.channel}`), time: new Date(s.expires_at * 1000).toLocaleTimeString(lang) })
      : '';
  }

  // Runs one action with the buttons disabled; errors are shown with a retry of the same action.
  async function act(button, fn) {
    if (state.busy) return;
    state.busy = true;
    const buttons = document.querySelectorAll('main button');
    buttons.forEach((b) => { b.disabled = true; });
    document.body.setAttribute('aria-busy', 'true');
    if (button) button.classList.add('working');
    showError(null);
    try {
      await fn();
    } catch (e) {
      const retriable = e.code === 'NETWORK' || e.code === 'TIMEOUT' || e.code === 'SERVER_ERROR' || e.code === 'INTERNAL_ERROR' ||
        e.code === 'STORE_ERROR' || e.code === 'CAMERA_DENIED' || e.code === 'CAMERA_UNAVAILABLE';
      showError(e, retriable ? () => act(button, fn) : null);
      if (e.status === 401) { sessionStorage.removeItem(KEY_STORE); state.me = null; keyState(); showTabs(); go('key'); }
      else if (e.code === 'SESSION_EXPIRED') { state.session = null; sessionInfo(); go('start'); }
    } finally {
      buttons.forEach((b) => { b.disabled = b.id === 'capture' && !state.stream; });
      if (button) button.classList.remove('working');
      document.body.removeAttribute('aria-busy');
      state.busy = false;
    }
  }
  $('error-retry').addEventListener('click', () => { const r = state.retry; if (r) r(); });

  const fileBase64 = (file) => new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',', 2)[1] || '');
    r.onerror = () => reject(new ApiError(0, { code: 'FILE_UNREADABLE' }));
    r.readAsDataURL(file);
  });

  // A check of the page itself (no request): code and the clerk's message from the catalogue.
  const localError = (code) => new ApiError(0, { code });

  // ---------------------------------------------------------------------------- 1. key
  async function whoami() {
    state.me = await api('GET', '/v1/whoami');
    keyState();
    const allowed = showTabs();
    if (allowed.includes('counter')) go('start');
    else goScreen(allowed[0]);
  }

  $('form-key').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = $('api-key').value.trim();
    if (!k) return;
    sessionStorage.setItem(KEY_STORE, k);
    $('api-key').value = '';
    act($('key-save'), whoami);
  });
  $('key-forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORE);
    state.session = null;
    state.me = null;
    keyState();
    sessionInfo();
    showTabs();
    showError(null);
    go('key');
  });
  for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => { showError(null); goScreen(b.dataset.screen); });
  for (const b of document.querySelectorAll('.lang button')) b.addEventListener('click', () => setLanguage(b.dataset.lang));

  // ------------------------------------------------------------------------ 2. session
  $('form-start').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act($('start-session'), async () => {
      const channel = document.querySelector('input[name="channel"]:checked').value;
      const body = { channel };
      const device = $('device-id').value.trim();
      if (device) body.device_id = device;
      const s = await api('POST', '/v1/sessions', body);
      state.session = s;
      state.lastDecision = null;
      state.consentVersion = (s.consent && s.consent.version) || '';
      $('consent-version-value').textContent = state.consentVersion || '—';
      $('consent-accept').checked = false;
      sessionInfo();
      resetDocument();
      go('consent');
    });
  });

  // ------------------------------------------------------------------------ 3. consent
  $('form-consent').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act($('consent-submit'), async () => {
      if (!$('consent-accept').checked) throw localError('CONSENT_NOT_GIVEN');
      await api('POST', `/v1/sessions/${state.session.session_id}/consent`, { accepted: true, version: state.consentVersion });
      go('document');
    });
  });

  // ----------------------------------------------------------------------- 4. document
  function resetDocument() {
    $('id-number').value = '';
    $('mrz').value = '';
    $('portrait').value = '';
    $('portrait-preview').hidden = true;
    $('portrait-preview').removeAttribute('src');
  }
  for (const r of document.querySelectorAll('input[name="doc-kind"]')) {
    r.addEventListener('change', () => {
      const mrz = document.querySelector('input[name="doc-kind"]:checked').value === 'mrz';
      $('doc-id-field').hidden = mrz;
      $('doc-mrz-field').hidden = !mrz;
    });
  }
  $('portrait').addEventListener('change', () => {
    const f = $('portrait').files[0];
    const img = $('portrait-preview');
    if (img.src) URL.revokeObjectURL(img.src);
    if (f) { img.src = URL.createObjectURL(f); img.hidden = false; } else img.hidden = true;
  });
  $('form-document').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act($('document-submit'), async () => {
      const mrz = document.querySelector('input[name="doc-kind"]:checked').value === 'mrz';
      const body = {};
      if (mrz) {
        body.mrz = $('mrz').value.trim().split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join('\n');
        if (!body.mrz) throw localError('MRZ_MISSING');
      } else {
        body.id_number = $('id-number').value.trim().toUpperCase();
        if (!body.id_number) throw localError('ID_NUMBER_MISSING');
      }
      const file = $('portrait').files[0];
      if (!file) throw localError('PORTRAIT_MISSING');
      body.portrait = await fileBase64(file);
      const r = await api('POST', `/v1/sessions/${state.session.session_id}/document`, body);
      const d = r.document || {};
      const notes = [t('doc.accepted', { kind: t(`kind.${d.kind}`) })];
      if (d.expired) notes.push(t('doc.expired'));
      if (d.minor) notes.push(t('doc.minor'));
      const portraitHints = ((r.portrait && r.portrait.reasons) || []).map((x) => x.hint).filter(Boolean);
      if (portraitHints.length) notes.push(t('doc.portrait_notes', { notes: portraitHints.join(' ') }));
      $('doc-summary').textContent = notes.join(t('list.sep'));
      prepareLive();
      go('live');
    });
  });

  // --------------------------------------------------------------------- 5. live capture
  function fileAllowed() {
    const s = state.session;
    return !!(s && state.me && (state.me.live_file_channels || []).includes(s.channel));
  }

  function prepareChallengeList() {
    const s = state.session;
    const list = $('challenge-actions');
    list.replaceChildren();
    for (const a of (s && s.challenge && s.challenge.actions) || []) {
      const li = document.createElement('li');
      li.textContent = t(`prompt.${a}`);
      li.dataset.action = a;
      list.append(li);
    }
    if (s) $('capture').textContent = t(s.channel === 'online' ? 'live.start_challenge' : 'live.capture');
  }

  function prepareLive() {
    const online = state.session.channel === 'online';
    $('challenge').hidden = !online;
    prepareChallengeList();
    $('challenge-prompt').textContent = '';
    $('capture').disabled = !state.stream;
    // A photo file only where the operator allows it (online: never; the challenge needs the camera).
    $('fallback').hidden = !fileAllowed();
    $('fallback').open = false;
    $('no-fallback').hidden = fileAllowed();
    $('live-file').value = '';
    guide('live.guide');
  }

  // Guidance: a catalogue key, or {text} for a hint the service sent.
  function guide(what) {
    state.guideKey = what;
    $('guidance').textContent = typeof what === 'string' ? t(what) : what.text;
  }

  async function startCamera() {
    if (!window.isSecureContext) throw localError('CAMERA_INSECURE');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw localError('CAMERA_UNAVAILABLE');
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' }, audio: false });
    } catch (e) {
      throw localError(e && (e.name === 'NotAllowedError' || e.name === 'SecurityError') ? 'CAMERA_DENIED' : 'CAMERA_UNAVAILABLE');
    }
    const v = $('video');
    v.srcObject = state.stream;
    await v.play().catch(() => {});
    if (!v.videoWidth) await new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }));
    if (v.videoWidth < 160 || v.videoHeight < 120) {   // a broken camera driver's frames are no photo
      stopCamera();
      throw localError('CAMERA_UNAVAILABLE');
    }
    $('camera-off').hidden = true;
    $('capture').disabled = false;
    $('camera-start').textContent = t('live.camera_restart');
    clearInterval(state.lightTimer);
    state.lightTimer = setInterval(lightGuidance, 700);
  }

  function stopCamera() {
    clearInterval(state.lightTimer);
    if (state.stream) for (const tr of state.stream.getTracks()) tr.stop();
    state.stream = null;
    const v = $('video');
    if (v) v.srcObject = null;
    $('camera-off').hidden = false;
    $('capture').disabled = true;
    $('camera-start').textContent = t('live.camera_start');
  }

  // Live hint from the picture's brightness (the same words as the server's FACE_TOO_DARK /
  // FACE_TOO_BRIGHT hints); the server's own quality hints follow a capture.
  function lightGuidance() {
    const v = $('video');
    if (!state.stream || !v.videoWidth || state.busy) return;
    const c = document.createElement('canvas');
    c.width = 32; c.height = 24;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(v, 0, 0, c.width, c.height);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < px.length; i += 4) sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
    const mean = sum / (px.length / 4);
    if (mean < 45) guide('live.too_dark');
    else if (mean > 215) guide('live.too_bright');
    else if (state.guideKey === 'live.too_dark' || state.guideKey === 'live.too_bright') guide('live.good_light');
  }

  // One frame of the camera as base64 JPEG (not mirrored: the server expects the camera's view).
  function grab(maxWidth, quality) {
    const v = $('video');
    const scale = Math.min(1, maxWidth / v.videoWidth);
    const c = $('canvas');
    c.width = Math.round(v.videoWidth * scale);
    c.height = Math.round(v.videoHeight * scale);
    c.getContext('2d').drawImage(v, 0, 0, c.width, c.height);
    return c.toDataURL('image/jpeg', quality).split(',', 2)[1];
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // Shows the prompts one by one while taking frames with their capture times (Unix ms).
  async function runChallenge(actions) {
    const frames = [];
    let stop = false;
    const take = async () => {
      while (!stop && frames.length < MAX_FRAMES) {
        frames.push({ image: grab(FRAME_WIDTH, 0.85), ts_ms: Date.now() });
        await sleep(FRAME_MS);
      }
    };
    const prompt = (key, li) => {
      $('challenge-prompt').textContent = key ? t(key) : '';
      if (key) guide(key);
      for (const x of $('challenge-actions').children) x.classList.toggle('now', x === li);
    };
    prompt('prompt.straight');
    const taking = take();
    await sleep(LEAD_MS);
    const items = [...$('challenge-actions').children];
    for (let i = 0; i < actions.length; ++i) {
      prompt(`prompt.${actions[i]}`, items[i]);
      await sleep(ACTION_MS);
      items[i].classList.add('done');
      prompt('prompt.straight');
      await sleep(BETWEEN_MS);
    }
    stop = true;
    await taking;
    prompt('');
    return frames;
  }

  async function submitLive(body) {
    try {
      const d = await api('POST', `/v1/sessions/${state.session.session_id}/live`, body);
      showDecision(d);
    } catch (e) {
      // A retry after a timeout whose request did arrive: the decision is there, show it.
      if (e.code === 'SESSION_ALREADY_DECIDED') {
        showDecision(await api('GET', `/v1/sessions/${state.session.session_id}`));
        return;
      }
      // A retake (e.g. NO_FACE, MULTIPLE_FACES, a bad frame): the customer's hint is the guidance.
      if (e.status === 422 && e.hint) guide({ text: e.hint });
      else guide('live.guide');
      throw e;
    }
  }

  $('camera-start').addEventListener('click', () => act($('camera-start'), startCamera));
  $('capture').addEventListener('click', () => act($('capture'), async () => {
    if (!state.stream) throw localError('CAMERA_OFF');
    const s = state.session;
    if (s.channel === 'online') {
      const actions = (s.challenge && s.challenge.actions) || [];
      const still = grab(1280, 0.92);
      const frames = await runChallenge(actions);
      guide('live.checking');
      await submitLive({ image: still, frames, capture: 'camera' });
    } else {
      const image = grab(1280, 0.92);
      guide('live.checking');
      await submitLive({ image, capture: 'camera' });
    }
  }));
  $('live-file-submit').addEventListener('click', () => act($('live-file-submit'), async () => {
    if (!fileAllowed()) throw localError('LIVE_FILE_NOT_ALLOWED');
    const f = $('live-file').files[0];
    if (!f) throw localError('PHOTO_MISSING');
    guide('live.checking');
    await submitLive({ image: await fileBase64(f), capture: 'file' });
  }));

  // ----------------------------------------------------------------------- 6. decision
  function renderDecision(d) {
    const decision = d.decision || 'PENDING';
    const el = $('decision');
    el.textContent = t(`decision.${decision}`);
    el.dataset.decision = decision;
    el.className = `decision ${decision.toLowerCase()}`;
    $('decision-note').textContent = t(`decision.note_${decision}`);
    const list = $('decision-reasons');
    list.replaceChildren();
    for (const r of d.reasons || []) {
      const li = document.createElement('li');
      const hint = document.createElement('span');
      hint.textContent = r.hint || r.code;
      const code = document.createElement('code');
      code.textContent = r.code;
      li.append(hint, ' ', code);
      list.append(li);
    }
    $('decision-reasons-heading').hidden = !(d.reasons || []).length;
    $('register').hidden = decision !== 'PASS';
    $('review-wait').hidden = decision !== 'REVIEW';
    $('review-wait-note').textContent = t('decision.review_wait');
  }

  function showDecision(d) {
    stopCamera();
    state.lastDecision = d;
    renderDecision(d);
    $('register-result').textContent = '';
    $('numbers').replaceChildren();
    $('numbers-heading').hidden = true;
    $('phone').value = '';
    go('decision');
    if (d.decision === 'REVIEW') startReviewPoll();
  }

  // REVIEW: the clerk waits for a supervisor; once resolved to PASS the number can be registered.
  async function checkReview() {
    const d = await api('GET', `/v1/sessions/${state.session.session_id}`);
    if (d.decision !== 'REVIEW') {
      stopReviewPoll();
      d.reasons = d.decision === 'PASS' ? [] : d.reasons;
      state.lastDecision = d;
      renderDecision(d);
      $('decision-note').textContent = t(`decision.resolved_${d.decision}`);
    }
  }
  function startReviewPoll() {
    stopReviewPoll();
    state.reviewTimer = setInterval(() => { if (!state.busy) checkReview().catch(() => {}); }, REVIEW_POLL_MS);
  }
  function stopReviewPoll() { clearInterval(state.reviewTimer); state.reviewTimer = 0; }
  $('review-check').addEventListener('click', () => act($('review-check'), checkReview));

  $('form-register').addEventListener('submit', (ev) => {
    ev.preventDefault();
    // A result from before never stays beside a new error.
    $('register-result').textContent = '';
    act($('register-submit'), async () => {
      const phone = $('phone').value.trim();
      if (!phone) throw localError('PHONE_MISSING');
      if (!/^[+0-9 ()\-.]{8,32}$/.test(phone)) throw new ApiError(0, { code: 'PHONE_NUMBER_INVALID' });
      const id = state.session.session_id;
      const r = await api('POST', `/v1/sessions/${id}/registrations`, { phone_number: phone });
      $('register-result').textContent = t('register.done', { number: r.phone_number });
      $('phone').value = '';
      const list = await api('GET', `/v1/sessions/${id}/registrations`);
      const ul = $('numbers');
      ul.replaceChildren();
      for (const n of list.numbers || []) {
        const li = document.createElement('li');
        li.textContent = t('register.number', { number: n.phone_number, date: new Date(n.created * 1000).toLocaleDateString(lang) });
        ul.append(li);
      }
      $('numbers-heading').hidden = false;
      $('numbers-heading').textContent = t('register.numbers', { n: (list.numbers || []).length, limit: list.limit });
    });
  });

  $('next-customer').addEventListener('click', () => {
    state.session = null;
    state.lastDecision = null;
    sessionInfo();
    showError(null);
    go('start');
  });

  // ------------------------------------------------------------------- review queue
  const fmtTime = (s) => (s ? new Date(s * 1000).toLocaleString(lang) : '—');
  const fmtSpan = (a, b) => (a && b ? t('reviews.seconds', { n: Math.max(0, b - a) }) : '—');

  function reasonItems(list, reasons) {
    for (const r of reasons) {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = r.code;
      li.append(r.hint || '', ' ', code);
      list.append(li);
    }
  }

  function fact(dl, key, value) {
    const dt = document.createElement('dt');
    dt.textContent = t(key);
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }

  async function loadReviews() {
    const r = await api('GET', '/v1/reviews?status=open');
    const ul = $('reviews-list');
    ul.replaceChildren();
    $('reviews-empty').hidden = (r.reviews || []).length > 0;
    for (const it of r.reviews || []) {
      const li = document.createElement('li');
      li.className = 'review';
      li.dataset.reviewId = it.review_id;
      li.dataset.sessionId = it.session_id;
      const h = document.createElement('h3');
      h.textContent = t('reviews.case', { id: it.session_id, channel: t(`channel.${it.channel}`) });
      const dl = document.createElement('dl');
      dl.className = 'facts';
      const d = it.document || {};
      const docNotes = [t(`kind.${d.kind}`)];
      if (d.minor) docNotes.push(t('doc.minor'));
      if (d.expired) docNotes.push(t('doc.expired'));
      fact(dl, 'reviews.document', docNotes.join(t('list.sep')));
      const tm = it.timings || {};
      fact(dl, 'reviews.started', fmtTime(tm.started));
      fact(dl, 'reviews.decided', `${fmtTime(tm.decided_at)} (${fmtSpan(tm.started, tm.decided_at)})`);
      fact(dl, 'reviews.waiting', fmtSpan(tm.review_created, Math.floor(Date.now() / 1000)));
      fact(dl, 'reviews.submitted_by', it.submitted_by || '—');
      const rh = document.createElement('h4');
      rh.textContent = t('reviews.reasons');
      const rl = document.createElement('ul');
      rl.className = 'reasons';
      reasonItems(rl, it.reasons || []);
      const qh = document.createElement('h4');
      qh.textContent = t('reviews.quality');
      const ql = document.createElement('ul');
      ql.className = 'reasons';
      if ((it.portrait_quality || []).length) reasonItems(ql, it.portrait_quality);
      else { const x = document.createElement('li'); x.textContent = t('reviews.quality_none'); ql.append(x); }
      const form = document.createElement('form');
      const cid = `comment-${it.review_id}`;
      const label = document.createElement('label');
      label.htmlFor = cid;
      label.textContent = t('reviews.comment');
      const ta = document.createElement('textarea');
      ta.id = cid;
      ta.rows = 2;
      ta.maxLength = 2000;
      ta.className = 'review-comment';
      const own = state.me && it.submitted_by === state.me.key_id;
      const pass = document.createElement('button');
      pass.type = 'button';
      pass.className = 'resolve-pass';
      pass.textContent = t('reviews.pass');
      const fail = document.createElement('button');
      fail.type = 'button';
      fail.className = 'resolve-fail';
      fail.textContent = t('reviews.fail');
      for (const [b, res] of [[pass, 'PASS'], [fail, 'FAIL']]) {
        b.addEventListener('click', () => act(b, async () => {
          const comment = ta.value.trim();
          if (!comment) throw localError('COMMENT_MISSING');
          await api('POST', `/v1/reviews/${it.review_id}/resolve`, { resolution: res, comment });
          await loadReviews();
        }));
      }
      form.append(label, ta, pass, ' ', fail);
      li.append(h, dl, rh, rl, qh, ql, form);
      if (own) {
        const p = document.createElement('p');
        p.className = 'note';
        p.textContent = t('reviews.own');
        li.append(p);
      }
      ul.append(li);
    }
  }
  $('reviews-refresh').addEventListener('click', () => act($('reviews-refresh'), loadReviews));

  // ------------------------------------------------------------------------- audit
  $('form-audit').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act($('audit-lookup'), async () => {
      const id = $('audit-session').value.trim();
      if (!/^[A-Za-z0-9_]{3,64}$/.test(id)) throw localError('SESSION_ID_MISSING');
      // The log in pages of 1000, oldest first; the entries about this session.
      const found = [];
      let after = 0;
      for (let page = 0; page < 50; ++page) {
        const r = await api('GET', `/v1/audit?after=${after}&limit=1000`);
        const es = r.entries || [];
        for (const e of es) if (e.subject === id || (e.details && e.details.session_id === id)) found.push(e);
        if (es.length < 1000) break;
        after = es[es.length - 1].seq;
      }
      const dl = $('audit-result');
      dl.replaceChildren();
      dl.hidden = false;
      if (!found.length) { fact(dl, 'audit.result', t('audit.none')); return; }
      for (const e of found) {
        const d = e.details || {};
        fact(dl, 'audit.entry', `#${e.seq} ${e.action} · ${fmtTime(e.ts)} · ${e.actor}`);
        if (e.action === 'decision') {
          fact(dl, 'audit.decision', d.decision);
          fact(dl, 'audit.score', d.score === null || d.score === undefined ? '—' : Number(d.score).toFixed(4));
          fact(dl, 'audit.threshold', Number(d.threshold).toFixed(4));
          fact(dl, 'audit.fmr', String(d.fmr));
          fact(dl, 'audit.model', d.model || '—');
          fact(dl, 'audit.reasons', (d.reasons || []).join(', ') || '—');
          fact(dl, 'audit.capture', d.live_capture ? t(`capture.${d.live_capture}`) : '—');
        } else {
          fact(dl, 'audit.details', JSON.stringify(d));
        }
      }
    });
  });
  $('audit-verify').addEventListener('click', () => act($('audit-verify'), async () => {
    const r = await api('GET', '/v1/audit/verify');
    const p = $('audit-chain');
    p.textContent = r.ok ? t('audit.chain_ok', { n: r.entries }) : t('audit.chain_bad', { seq: r.first_bad_seq, problem: r.problem || '' });
    p.className = r.ok ? 'ok' : 'bad';
  }));

  // -------------------------------------------------------------------------- keys
  $('form-keys').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act($('key-create'), async () => {
      const r = await api('POST', '/v1/keys', { role: $('new-key-role').value });
      $('new-key').textContent = r.api_key;
    });
  });

  // ------------------------------------------------------------------------------ start
  (async () => {
    try {
      messages = await loadCatalogue(lang);
    } catch {
      messages = {};
    }
    applyLanguage();
    showTabs();
    if (sessionStorage.getItem(KEY_STORE)) act(null, whoami);
    else go('key');
  })();
})();
