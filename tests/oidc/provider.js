// A real OpenID Connect provider (the certified npm package oidc-provider) for the
// single sign-on tests, listening on 127.0.0.1 only.
//
// Environment:
//   OIDC_PORT           port to listen on
//   OIDC_CLIENT_ID      the one registered client (confidential, client_secret_basic)
//   OIDC_CLIENT_SECRET
//   OIDC_REDIRECT_URI   its redirect URI (also allowed after sign-out)
//   OIDC_ACCOUNTS       JSON: login name -> extra ID token claims, e.g.
//                       {"anna": {"email": "Anna@Example.com", "email_verified": true}}
//   OIDC_PASSWORD       the password of every account
//
// People sign in on the provider's own login page (its built-in interactions form) with a
// login name from OIDC_ACCOUNTS and OIDC_PASSWORD; anything else is refused there.
// Prints "ready <issuer>" once it listens.
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const password = process.env.OIDC_PASSWORD;
const redirectUri = process.env.OIDC_REDIRECT_URI;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Like Entra ID, Keycloak and Google: the scope's claims are in the ID token itself.
  conformIdTokenClaims: false,
  cookies: { keys: [randomBytes(32).toString('hex')] },  // made per run
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, claims: () => ({ sub: id, ...accounts[id] }) };
  },
  // A first-party client: the user is not asked to consent to the scopes.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },
});

// The login form's login name and password are checked here; anything else is refused.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString();
    const form = new URLSearchParams(raw);
    if (form.get('prompt') === 'login'
        && (!Object.hasOwn(accounts, form.get('login')) || form.get('password') !== password)) {
      ctx.status = 403;
      ctx.type = 'html';
      ctx.body = '<p id="refused">Wrong login or password.</p>';
      return undefined;
    }
    // The provider's own form parser takes an already read body from here.
    ctx.request.body = raw;
  }
  // "select_account" (sent by Streamlit's st.login) means: let the person choose the
  // account to sign in with. This provider has no account chooser; its login form is it.
  if (ctx.path === '/auth' && ctx.query.prompt === 'select_account') {
    const url = new URL(ctx.href);
    url.searchParams.set('prompt', 'login');
    ctx.query = Object.fromEntries(url.searchParams);
  }
  return next();
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
