// A Stripe connection's settings as the portal saves them: what changes, what is refused,
// and which connections re-walk (FX is the workspace's, so every Stripe connection does).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { Connection } from '../../core/models/connection.ts';
import { Workspace } from '../../core/models/workspace.ts';
import { saveStripeSettings, stripeSettingsFromForm, stripeSettingsView } from '../../core/sync/billing-settings.ts';

useTestDatabase('stripe_settings');
let fake: FakeStripe;
let workspaceId = '';
let source = '';
let signal = '';
let product = '';

beforeAll(async () => {
  fake = await startFakeStripe();
  process.env.STRIPE_API_BASE_URL = fake.url;
  resetEnvCache();
  product = fake.book().insertProduct({ name: 'Pro' }).id as string;
  const ws = await createWorkspace({ name: 'Settings' });
  workspaceId = String(ws._id);
  const live = 'sk_live_settingslivekey01';
  fake.addApiKey(live, { mode: 'live', account: fake.addAccount() });
  source = String((await connectSource({ workspaceId, provider: 'stripe', role: 'customer_source', authType: 'token', credentials: { accessToken: fake.secretKey }, mode: 'test' }))._id);
  signal = String((await connectSource({ workspaceId, provider: 'stripe', role: 'billing_signal', authType: 'token', credentials: { accessToken: live }, mode: 'live' }))._id);
});

afterAll(async () => {
  await fake?.close();
  delete process.env.STRIPE_API_BASE_URL;
  resetEnvCache();
});

const walks = (id: string) => Connection.db.collection('agenda_jobs').countDocuments({ name: 'sync.run', 'data.connection_id': id, 'data.trigger': 'settings' });
const base = { scope: 'all' as const, match_personal_emails: false };

describe('Stripe connection settings', () => {
  it('shows the defaults, the account products and the FX table in effect', async () => {
    const v = await stripeSettingsView(workspaceId, source);
    expect(v).toMatchObject({ scope: 'all', products: [], lookup_keys: [], match_personal_emails: false, writeback: false, products_error: null });
    expect(v.available_products).toEqual([{ id: product, name: 'Pro' }]);
    expect(v.fx.find((r) => r.currency === 'eur')).toEqual({ currency: 'eur', rate: 1.08, source: 'built-in' });
    expect(v.fx.some((r) => r.currency === 'usd')).toBe(false);
    expect((await stripeSettingsView(workspaceId, signal)).writeback).toBeNull();
  });

  it('writeback is a customer-source switch that needs no re-walk; a billing signal refuses it', async () => {
    expect(await saveStripeSettings(workspaceId, source, { ...base, writeback: true })).toEqual({ changed: ['writeback'], resynced: [] });
    expect((await Connection.findById(source).lean())!.settings).toMatchObject({ writeback: true });
    await expect(saveStripeSettings(workspaceId, signal, { ...base, writeback: true })).rejects.toThrow('A billing-signal connection never writes to Stripe');
  });

  it('scope and personal emails re-walk this connection; the FX table re-walks every Stripe connection', async () => {
    const r = await saveStripeSettings(workspaceId, signal, { scope: 'chosen', products: [product, product], lookup_keys: ['pro_monthly'], match_personal_emails: true });
    expect(r).toEqual({ changed: ['scope', 'match_personal_emails'], resynced: [signal] });
    expect((await Connection.findById(signal).lean())!.settings).toMatchObject({ scope: { products: [product], lookup_keys: ['pro_monthly'] }, match_personal_emails: true });
    expect(await walks(signal)).toBe(1);

    const fx = await saveStripeSettings(workspaceId, signal, { scope: 'chosen', products: [product], lookup_keys: ['pro_monthly'], match_personal_emails: true, fx_rates_usd: { eur: 1.2 } });
    expect(fx).toEqual({ changed: ['fx_rates_usd'], resynced: expect.arrayContaining([source, signal]) });
    expect((await Workspace.findById(workspaceId).lean())!.settings.fx_rates_usd).toEqual({ eur: 1.2 });
    expect(await walks(source)).toBe(1);
    expect(await walks(signal)).toBe(1); // still one pending walk per connection
    expect((await stripeSettingsView(workspaceId, source)).fx.find((r) => r.currency === 'eur')).toEqual({ currency: 'eur', rate: 1.2, source: 'workspace' });
  });

  it('refuses bad input with a clear message and changes nothing', async () => {
    const bad: [object, string][] = [
      [{ ...base, scope: 'chosen' }, 'Choose at least one product or price lookup key'],
      [{ ...base, scope: 'chosen', products: ['price_123'] }, 'Product ids look like prod_…'],
      [{ ...base, fx_rates_usd: { euro: 1 } }, 'Currencies are three-letter ISO codes'],
      [{ ...base, fx_rates_usd: { eur: -1 } }, 'FX rates must be positive'],
      [{ ...base, fx_rates_usd: { usd: 2 } }, 'USD is always 1'],
    ];
    for (const [input, message] of bad) await expect(saveStripeSettings(workspaceId, signal, input as never)).rejects.toThrow(message);
    const other = await createWorkspace({ name: 'Other' });
    await expect(saveStripeSettings(String(other._id), signal, base)).rejects.toThrow('No such Stripe connection in your workspace');
    await expect(stripeSettingsView(workspaceId, 'nope')).rejects.toThrow('No such Stripe connection in your workspace');
    expect((await Connection.findById(signal).lean())!.settings).toMatchObject({ scope: { products: [product] } });
  });

  it('reads the portal form: FX lines, comma-separated lookup keys, checkboxes', () => {
    const form = new FormData();
    form.set('scope', 'chosen');
    form.append('products', product);
    form.set('lookup_keys', ' pro_monthly, pro_annual ,,');
    form.set('match_personal_emails', 'on');
    form.set('fx_rates_usd', '# rates\nEUR = 1.1\r\ngbp: 1.3\n\n');
    expect(stripeSettingsFromForm(form, { hasWriteback: true })).toEqual({
      scope: 'chosen', products: [product], lookup_keys: ['pro_monthly', 'pro_annual'], match_personal_emails: true, writeback: false, fx_rates_usd: { eur: 1.1, gbp: 1.3 },
    });
    form.set('fx_rates_usd', 'EUR 1,1');
    expect(() => stripeSettingsFromForm(form, { hasWriteback: false })).toThrow('FX table line 1 ("EUR 1,1"): write it as EUR = 1.08');
  });

  it('still opens when Stripe cannot list the products, saying why', async () => {
    fake.failNext(1, 400, { shouldRetry: false, message: 'Products are unavailable' });
    const v = await stripeSettingsView(workspaceId, source);
    expect(v.available_products).toBeNull();
    expect(v.products_error).toContain('Products are unavailable');
  });
});
