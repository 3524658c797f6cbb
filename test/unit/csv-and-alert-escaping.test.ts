// Data never runs where it is shown: CSV cells that a spreadsheet would evaluate are quoted
// and stripped of terminal escapes; health alert titles escape the values they carry.
import { describe, expect, it } from 'vitest';
import { toCsv, safeCsvText } from '../../core/csv.ts';
import { alertMessage, ALERT_RULES } from '../../core/alerts/rules.ts';

describe('toCsv', () => {
  it('quotes formula cells and strips ANSI and control characters', () => {
    const rows = [
      { name: '=HYPERLINK("http://evil.test","x")', domain: '+1-555', owner: '@SUM(A1)', note: '-2+3', mrr: -500 },
      { name: '\u001b[31mred\u001b[0m\u0007 Co', domain: 'a\u0000b.com', owner: '\u001b]0;title\u0007ok', note: 'line 1\nline 2', mrr: 100 },
    ];
    const out = toCsv(rows, ['name', 'domain', 'owner', 'note', 'mrr']);
    expect(out).toBe(
      'name,domain,owner,note,mrr\n' +
        `"'=HYPERLINK(""http://evil.test"",""x"")",'+1-555,'@SUM(A1),'-2+3,-500\n` +
        'red Co,ab.com,ok,"line 1\nline 2",100\n',
    );
    expect(out).not.toContain('\u001b');
    expect(safeCsvText('\u001b[2J=1+1')).toBe("'=1+1");
  });
});

describe('health alert titles', () => {
  it('escape the values they carry', () => {
    const drop = alertMessage(ALERT_RULES['customer.health_score_dropped']!, { type: 'customer.health_score_dropped', data: { score: '<!channel>' }, previous: { score: '*80*' } }, { name: 'Acme', display_id: 1 });
    const bucket = alertMessage(ALERT_RULES['customer.health_bucket_changed']!, { type: 'customer.health_bucket_changed', data: { bucket: '<!here> & co' }, previous: null }, { name: 'Acme', display_id: 1 });
    for (const m of [drop, bucket]) {
      const all = JSON.stringify(m);
      expect(all).not.toContain('<!channel>');
      expect(all).not.toContain('<!here>');
    }
    expect(JSON.stringify(drop.blocks)).toContain('&lt;!channel&gt;');
    expect(JSON.stringify(bucket.blocks)).toContain('&lt;!here&gt; &amp; co');
  });
});
