// simkyc counter console: the clerk's side of one verification (docs/service.md, docs/openapi.yaml).
// Plain browser JavaScript, no build step, no outside resources; served by `simkyc serve` with a
// Content-Security-Policy that allows only this origin (so: no inline script or style here).
// The console never shows a score: the API does not send one to clerks.
'use strict';

(() => {
  const KEY_STORE = 'simkyc.apiKey';   // sessionStorage only: forgotten when the tab closes
  const STEPS = ['key', 'start', 'consent', 'document', 'live', 'decision'];
  const PROMPTS = {
    blink: 'Please blink',
    turn_left: 'Turn your head to your left',
    turn_right: 'Turn your head to your right',
    nod: 'Nod your head down',
  };
  // Challenge capture: ~8 frames/s, a straight look first and between actions (the server's
  // limits: 6-90 frames, gaps <= 2 s, <= 20 s in all; docs/liveness.md).
  const FRAME_MS = 125, LEAD_MS = 1200, ACTION_MS = 2200, BETWEEN_MS = 800, MAX_FRAMES = 90;
  const FRAME_WIDTH = 640;

  const $ = (id) => document.getElementById(id);
  const state = { session: null, consentVersion: '', stream: null, busy: false, lightTimer: 0 };

  // ---------------------------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.message ? body.message : `HTTP ${status}`);
      this.status = status;
      this.code = (body && body.code) || `HTTP_${status}`;
      this.hint = (body && body.hint) || '';
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORE) || ''}` };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, { code: 'NETWORK', message: 'The service cannot be reached.', hint: 'Check the connection and try again.' });
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // ------------------------------------------------------------------------------ display
  function showError(e) {
    const box = $('error');
    box.replaceChildren();
    if (!e) { box.hidden = true; return; }
    const title = document.createElement('strong');
    title.textContent = e.message || String(e);
    box.append(title);
    if (e.hint) {
      const hint = document.createElement('span');
      hint.className = 'hint';
      hint.textContent = ` ${e.hint}`;
      box.append(hint);
    }
    if (e.code) {
      const code = document.createElement('code');
      code.textContent = e.code;
      box.append(' ', code);
    }
    box.hidden = false;
  }

  function go(step) {
    for (const s of STEPS) $(`step-${s}`).hidden = s !== step;
    for (const li of $('steps').children) {
      if (li.dataset.step === step) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    }
    if (step !== 'live') stopCamera();
    const h = document.querySelector(`#step-${step} h2`);
    if (h) h.focus();
    document.body.dataset.step = step;
  }

  function keyState() {
    const k = sessionStorage.getItem(KEY_STORE);
    $('key-state').textContent = k ? `Key ${k.split('_').slice(0, 2).join('_')}_…` : 'No API key';
    $('key-forget').hidden = !k;
  }

  function sessionInfo() {
    const s = state.session;
    $('session-info').textContent = s ? `Session ${s.session_id} · ${s.channel} · expires ${new Date(s.expires_at * 1000).toLocaleTimeString()}` : '';
  }

  // Runs one clerk action with the buttons of its form disabled; API errors are shown.
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
      showError(e);
      if (e.status === 401) { sessionStorage.removeItem(KEY_STORE); keyState(); go('key'); }
      else if (e.code === 'SESSION_EXPIRED') { state.session = null; sessionInfo(); go('start'); }
    } finally {
      buttons.forEach((b) => { b.disabled = b.id === 'capture' && !state.stream; });
      if (button) button.classList.remove('working');
      document.body.removeAttribute('aria-busy');
      state.busy = false;
    }
  }

  const fileBase64 = (file) => new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',', 2)[1] || '');
    r.onerror = () => reject(new ApiError(0, { code: 'FILE_UNREADABLE', message: 'The file could not be read.', hint: 'Choose the file again.' }));
    r.readAsDataURL(file);
  });

  const localError = (code, message, hint) => new ApiError(0, { code, message, hint });

  // ---------------------------------------------------------------------------- 1. key
  $('form-key').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = $('api-key').value.trim();
    if (!k) return;
    sessionStorage.setItem(KEY_STORE, k);
    $('api-key').value = '';
    keyState();
    showError(null);
    go('start');
  });
  $('key-forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORE);
    state.session = null;
    keyState();
    sessionInfo();
    go('key');
  });

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
      if (!$('consent-accept').checked) throw localError('CONSENT_REQUIRED', 'The customer has not agreed.', 'Without consent no number can be opened.');
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
        if (!body.mrz) throw localError('DOCUMENT_MISSING', 'Enter the MRZ text.', 'Type the machine-readable lines as printed.');
      } else {
        body.id_number = $('id-number').value.trim().toUpperCase();
        if (!body.id_number) throw localError('DOCUMENT_MISSING', 'Enter the ID number.', 'It has 18 characters; the last may be X.');
      }
      const file = $('portrait').files[0];
      if (!file) throw localError('PORTRAIT_MISSING', 'Choose the document portrait.', 'Use the chip photo or a scan of the card.');
      body.portrait = await fileBase64(file);
      const r = await api('POST', `/v1/sessions/${state.session.session_id}/document`, body);
      const d = r.document || {};
      const notes = [`${d.kind || 'document'} accepted`];
      if (d.expired) notes.push('document is expired');
      if (d.minor) notes.push('customer is a minor');
      const portraitHints = ((r.portrait && r.portrait.reasons) || []).map((x) => x.hint).filter(Boolean);
      if (portraitHints.length) notes.push(`portrait: ${portraitHints.join(' ')}`);
      $('doc-summary').textContent = `Document: ${notes.join('; ')}.`;
      prepareLive();
      go('live');
    });
  });

  // --------------------------------------------------------------------- 5. live capture
  function prepareLive() {
    const s = state.session;
    const actions = (s.challenge && s.challenge.actions) || [];
    const online = s.channel === 'online';
    $('challenge').hidden = !online;
    const list = $('challenge-actions');
    list.replaceChildren();
    for (const a of actions) {
      const li = document.createElement('li');
      li.textContent = PROMPTS[a] || a;
      li.dataset.action = a;
      list.append(li);
    }
    $('challenge-prompt').textContent = '';
    $('capture').textContent = online ? 'Start challenge' : 'Capture';
    $('capture').disabled = !state.stream;
    $('live-file').value = '';
    guide('Ask the customer to look straight at the camera, face in the middle, in good light.');
  }

  function guide(text) { $('guidance').textContent = text; }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
      throw localError('CAMERA_UNAVAILABLE', 'This browser cannot use a camera here.', 'Use a photo file instead.');
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' }, audio: false });
    } catch (e) {
      throw localError('CAMERA_UNAVAILABLE', `The camera could not be started (${e.name || e}).`, 'Allow camera access, or use a photo file instead.');
    }
    const v = $('video');
    v.srcObject = state.stream;
    await v.play().catch(() => {});
    if (!v.videoWidth) await new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }));
    $('camera-off').hidden = true;
    $('capture').disabled = false;
    $('camera-start').textContent = 'Restart camera';
    clearInterval(state.lightTimer);
    state.lightTimer = setInterval(lightGuidance, 700);
  }

  function stopCamera() {
    clearInterval(state.lightTimer);
    if (state.stream) for (const t of state.stream.getTracks()) t.stop();
    state.stream = null;
    const v = $('video');
    if (v) v.srcObject = null;
    if ($('camera-off')) $('camera-off').hidden = false;
    if ($('capture')) $('capture').disabled = true;
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
    if (mean < 45) guide('Find a brighter place or face the light.');
    else if (mean > 215) guide('Move away from strong light behind or on you.');
    else if (/light/.test($('guidance').textContent)) guide('Good light. Look straight at the camera, face in the middle.');
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
    const prompt = (text, li) => {
      $('challenge-prompt').textContent = text;
      guide(text);
      for (const x of $('challenge-actions').children) x.classList.toggle('now', x === li);
    };
    prompt('Look straight at the camera');
    const taking = take();
    await sleep(LEAD_MS);
    const items = [...$('challenge-actions').children];
    for (let i = 0; i < actions.length; ++i) {
      prompt(PROMPTS[actions[i]] || actions[i], items[i]);
      await sleep(ACTION_MS);
      items[i].classList.add('done');
      prompt('Look straight at the camera');
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
      // A retake (e.g. NO_FACE, MULTIPLE_FACES, a bad frame): the customer's hint is the guidance.
      if (e.status === 422 && e.hint) guide(e.hint);
      throw e;
    }
  }

  $('camera-start').addEventListener('click', () => act($('camera-start'), startCamera));
  $('capture').addEventListener('click', () => act($('capture'), async () => {
    if (!state.stream) throw localError('CAMERA_OFF', 'The camera is off.', 'Start the camera first.');
    const s = state.session;
    if (s.channel === 'online') {
      const actions = (s.challenge && s.challenge.actions) || [];
      const still = grab(1280, 0.92);
      const frames = await runChallenge(actions);
      guide('Checking…');
      await submitLive({ image: still, frames });
    } else {
      const image = grab(1280, 0.92);
      guide('Checking…');
      await submitLive({ image });
    }
  }));
  $('live-file-submit').addEventListener('click', () => act($('live-file-submit'), async () => {
    const f = $('live-file').files[0];
    if (!f) throw localError('PHOTO_MISSING', 'Choose the live photo file.', 'Take a photo of the customer now and choose it.');
    guide('Checking…');
    await submitLive({ image: await fileBase64(f) });
  }));

  // ----------------------------------------------------------------------- 6. decision
  const DECISION_NOTES = {
    PASS: 'The customer matches the document. You may register a number.',
    REVIEW: 'A supervisor must look at this case (review queue). Do not register a number yet.',
    FAIL: 'Do not register a number. Tell the customer the hints below.',
  };

  function showDecision(d) {
    stopCamera();
    const decision = d.decision || 'PENDING';
    const el = $('decision');
    el.textContent = decision;
    el.className = `decision ${decision.toLowerCase()}`;
    $('decision-note').textContent = DECISION_NOTES[decision] || '';
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
    $('register').hidden = decision !== 'PASS';
    $('register-result').textContent = '';
    $('numbers').replaceChildren();
    $('numbers-heading').hidden = true;
    $('phone').value = '';
    go('decision');
  }

  $('form-register').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act($('register-submit'), async () => {
      const phone = $('phone').value.trim();
      if (!phone) throw localError('PHONE_MISSING', 'Enter the phone number.', 'For example +8613800138000.');
      const id = state.session.session_id;
      const r = await api('POST', `/v1/sessions/${id}/registrations`, { phone_number: phone });
      $('register-result').textContent = `Registered ${r.phone_number}.`;
      $('phone').value = '';
      const list = await api('GET', `/v1/sessions/${id}/registrations`);
      const ul = $('numbers');
      ul.replaceChildren();
      for (const n of list.numbers || []) {
        const li = document.createElement('li');
        li.textContent = `${n.phone_number} (since ${new Date(n.created * 1000).toLocaleDateString()})`;
        ul.append(li);
      }
      $('numbers-heading').hidden = false;
      $('numbers-heading').textContent = `Numbers registered to this ID (${(list.numbers || []).length} of at most ${list.limit})`;
    });
  });

  $('next-customer').addEventListener('click', () => {
    state.session = null;
    sessionInfo();
    showError(null);
    go('start');
  });

  // ------------------------------------------------------------------------------ start
  keyState();
  go(sessionStorage.getItem(KEY_STORE) ? 'start' : 'key');
})();
