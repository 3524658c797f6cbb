// The Block Kit builders hold Slack's limits for any input and escape every data value.
import { describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { validateBlocks, validateView } from '../fakes/slack.ts';
import { customerCard, pickList, noMatch, customerList, helpBlocks, statusReasonModal, homeView, tenure } from '../../bot/blocks/card.ts';
import { mrkdwn, mrkdwnField, billingLine } from '../../core/slack/format.ts';

const customer = (over: Record<string, unknown> = {}) => ({
  _id: new Types.ObjectId(),
  display_id: 42,
  name: 'Acme',
  domain: 'acme.com',
  status: 'active',
  billing: { plan: 'Growth', mrr: 140000, payment_status: 'failing', stripe_customer_id: 'cus_123', stripe_livemode: true },
  health: { score: 38.4, bucket: 'at_risk' },
  sources: [{ provider: 'hubspot', url: 'https://app.hubspot.com/contacts/1/company/2' }],
  last_synced_at: new Date(),
  ...over,
});

describe('format', () => {
  it('escapes mentions, entities and formatting', () => {
    expect(mrkdwn('<!channel> *Acme* & <@U123> _x_ ~y~ `z`')).toBe('&lt;!channel&gt; ∗Acme∗ &amp; &lt;@U123&gt; ˍxˍ ∼y∼ ˋzˋ');
    expect(mrkdwnField('&&&&&', 7)).toBe('&amp;…');
  });
  it('reads like the product spec', () => {
    expect(billingLine(customer())).toBe('Plan: Growth, MRR $1,400, payment failing');
    expect(billingLine({ billing: { mrr: null, payment_status: 'none' } })).toBe('Plan: —, MRR —');
  });
  it('computes tenure', () => {
    expect(tenure(new Date(Date.now() - 800 * 86_400_000))).toBe('2 yr 2 mo');
    expect(tenure(null)).toBeNull();
  });
});

describe('customer card', () => {
  it('is valid Block Kit with links and buttons', () => {
    const blocks = customerCard(customer(), { owner: { slackUserId: 'U0OWNER01', label: 'Ann' } });
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    const json = JSON.stringify(blocks);
    expect(json).toContain('Plan: Growth, MRR $1,400, payment failing');
    expect(json).toContain('38/100 (at risk)');
    expect(json).toContain('<@U0OWNER01>');
    expect(json).toContain('https://dashboard.stripe.com/customers/cus_123');
    expect(json).toContain('card_status_at_risk');
    expect(json).not.toContain('card_status_active');
  });

  it('holds the limits for hostile and huge input', () => {
    const huge = '<!channel> *x* '.repeat(2000);
    const c = customer({ name: huge, domain: huge, status_reason: huge, billing: { plan: huge, mrr: 1e15, payment_status: 'failing' }, sources: [{ provider: huge, url: `https://x.test/${'a'.repeat(5000)}` }] });
    const blocks = customerCard(c, { owner: { slackUserId: null, label: huge } });
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    // every text object, the plain_text header included, carries &, < and > as entities
    expect(JSON.stringify(blocks)).not.toContain('<!channel>');
    expect(String((blocks[0]!.text as any).text)).toMatch(/^&lt;!channel&gt; \*x\* /);
    expect(validateBlocks(pickList(Array.from({ length: 30 }, () => c), huge), 'message')).toEqual([]);
    expect(validateBlocks(noMatch(huge, [c, c, c, c]), 'message')).toEqual([]);
    expect(validateBlocks(customerList('At risk', Array.from({ length: 60 }, () => c), 'none'), 'message')).toEqual([]);
    expect(validateBlocks(helpBlocks(), 'message')).toEqual([]);
    expect(validateView(statusReasonModal(c, 'churned', '{"customer_id":"x"}'), 'modal')).toEqual([]);
    expect(validateView(homeView(Array.from({ length: 300 }, () => c), { matched: true, connected: true }), 'home')).toEqual([]);
    expect(validateView(homeView([], { matched: false, connected: false }), 'home')).toEqual([]);
  });

  it('escapes the header: <!channel> and & never reach Slack raw, cuts never split an entity', () => {
    const [header] = customerCard(customer({ name: '<!channel> Bob & <@U123> *Co*' }));
    expect(header).toEqual({ type: 'header', text: { type: 'plain_text', text: '&lt;!channel&gt; Bob &amp; &lt;@U123&gt; *Co*', emoji: true } });
    const [long] = customerCard(customer({ name: `${'a'.repeat(146)}&&&&` }));
    expect((long!.text as any).text).toBe(`${'a'.repeat(146)}…`);
    expect(validateView(statusReasonModal(customer({ name: '<!here>' }), 'churned', '{}'), 'modal')).toEqual([]);
  });

  it('drops the buttons when shared', () => {
    const blocks = customerCard(customer(), { shared: true, sharedBy: 'U0SHARER1' });
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(blocks)).toContain('shared by <@U0SHARER1>');
  });
});
