// A real OpenID Connect provider on loopback for the single sign-on tests (tests/portal/test_sso.py).
//
//   node tests/oidc/provider.js CONFIG.json
//
// The configuration lists one or more provider instances, each on its own port of 127.0.0.1:
//
//   {"instances": [
//     {"name": "district", "port": 45001, "signing_key": "district",
//      "clients": [{"client_id": "portal", "client_secret": "...", "redirect_uris": ["http://localhost:8081/..."],
//                   "id_token_audience": "another-client"}]},
//     {"name": "rogue", "port": 45002, "signing_key": "rogue", "jwks_from": "district", "clients": [...]}
//   ]}
//
// - `signing_key` names the RSA key the instance signs ID tokens with; every key carries the same key id,
//   so a token signed with another key claims to be signed with the district's.
// - `jwks_from` makes the instance's discovery document point at another instance's published keys: a
//   provider whose tokens must be checked against keys it does not hold.
// - `id_token_audience` (per client) makes the token endpoint hand that client an ID token issued, and
//   signed with the instance's key, for another client.
//
// Sign-in pages: GET /interaction/<uid> shows a form; POST /interaction/<uid>/login with `sub`, `email`,
// `email_verified` (true/false) and optionally `given_name`, `family_name`, `sourcedId` signs that person
// in and grants the requested scopes. Prints "ready" on stdout once every instance listens; stops on SIGTERM.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';

const KEY_ID = 'district-signing-key';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// One key per name, made once even when instances ask for it at the same time.
const privateKeys = new Map();
function privateKey(name) {
  if (!privateKeys.has(name)) {
    privateKeys.set(name, (async () => {
      const { privateKey: key } = await generateKeyPair('RS256', { extractable: true });
      return { ...(await exportJWK(key)), kid: KEY_ID, alg: 'RS256', use: 'sig' };
    })());
  }
  return privateKeys.get(name);
}

// People who signed in, by subject: the claims the provider vouches for.
const people = new Map();

function issuerOf(instance) {
  return `http://127.0.0.1:${instance.port}`;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, clientId) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Test provider sign-in</title></head>
<body><main><h1>Test provider: sign in to ${escapeHtml(clientId)}</h1>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<p><label for="sub">Subject</label> <input id="sub" name="sub" required></p>
<p><label for="email">E-mail</label> <input id="email" name="email" type="email"></p>
<p><label for="email_verified">E-mail verified</label>
<select id="email_verified" name="email_verified"><option>true</option><option>false</option></select></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>`;
}

async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid, details.params.client_id));
    return;
  }
  const form = await readForm(req);
  const sub = form.get('sub');
  if (!sub) {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end('sub is required');
    return;
  }
  const claims = { sub };
  if (form.get('email')) claims.email = form.get('email');
  if (form.has('email_verified')) claims.email_verified = form.get('email_verified') === 'true';
  for (const name of ['given_name', 'family_name', 'sourcedId']) {
    if (form.get(name)) claims[name] = form.get(name);
  }
  people.set(sub, claims);

  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: sub }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

async function resign(idToken, audience, jwk) {
  const [header, payload] = idToken.split('.').slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  const key = await importJWK(jwk, header.alg);
  return new SignJWT({ ...payload, aud: audience }).setProtectedHeader(header).sign(key);
}

async function start(instance, byName) {
  const jwk = await privateKey(instance.signing_key);
  const clients = instance.clients.map(({ id_token_audience: _, ...client }) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...client,
  }));
  const audienceFor = new Map(
    instance.clients.filter((c) => c.id_token_audience).map((c) => [c.client_id, c.id_token_audience]),
  );

  const provider = new Provider(issuerOf(instance), {
    clients,
    jwks: { keys: [jwk] },
    cookies: { keys: [`test-cookie-key-${instance.name}`] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'sourcedId'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, details) => `/interaction/${details.uid}` },
    async findAccount(ctx, sub) {
      const claims = people.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => claims };
    },
  });

  provider.use(async (ctx, next) => {
    await next();
    if (instance.jwks_from && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
      ctx.body.jwks_uri = `${issuerOf(byName.get(instance.jwks_from))}/jwks`;
    }
    const audience = audienceFor.get(ctx.oidc?.client?.clientId);
    if (audience && ctx.path === '/token' && ctx.body?.id_token) {
      ctx.body.id_token = await resign(ctx.body.id_token, audience, jwk);
    }
  });

  const handle = provider.callback();
  const server = createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((error) => {
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        res.end(String(error));
      });
      return;
    }
    handle(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(instance.port, '127.0.0.1', resolve);
  });
  return server;
}

const byName = new Map(config.instances.map((instance) => [instance.name, instance]));
const servers = await Promise.all(config.instances.map((instance) => start(instance, byName)));
process.stdout.write('ready\n');

function stop() {
  for (const server of servers) server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
