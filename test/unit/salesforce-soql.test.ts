// SOQL from structured input only: literals escaped per the SOQL reference, the admin's
// filter validated against describe (field, type, operator), never pasted.
import { describe, expect, it } from 'vitest';
import { buildFilter, soqlString, soqlId, type DescribeField } from '../../core/connectors/salesforce/soql.ts';
import { parseSoql } from '../fakes/salesforce-soql.ts';

const fields = new Map<string, DescribeField>(
  [
    { name: 'Type', label: 'Type', type: 'picklist' },
    { name: 'Name', label: 'Name', type: 'string' },
    { name: 'AnnualRevenue', label: 'Annual Revenue', type: 'currency' },
    { name: 'Active__c', label: 'Active', type: 'boolean', custom: true },
    { name: 'Renewal__c', label: 'Renewal', type: 'date', custom: true },
    { name: 'Description', label: 'Description', type: 'textarea', filterable: false },
  ].map((f) => [f.name.toLowerCase(), f]),
);

describe('Salesforce SOQL building', () => {
  it('escapes string literals so hostile text stays one value', () => {
    const hostile = "x' OR Name != '\\ \n";
    const q = parseSoql(`SELECT Id FROM Account WHERE Name = ${soqlString(hostile)}`);
    expect(q.where).toEqual({ op: 'cmp', field: 'Name', cmp: '=', value: hostile });
    expect(() => soqlId("001' OR Id != '")).toThrow(/not a Salesforce record id/);
  });

  it('builds typed conditions validated against describe', () => {
    const where = buildFilter([
      { field: 'type', operator: 'in', value: ['Customer - Direct', "O'Reilly"] },
      { field: 'AnnualRevenue', operator: '>=', value: '1000' },
      { field: 'Active__c', operator: '=', value: true },
      { field: 'Renewal__c', operator: '<', value: '2030-01-31' },
    ], fields)!;
    expect(where).toBe("(Type IN ('Customer - Direct', 'O\\'Reilly')) AND (AnnualRevenue >= 1000) AND (Active__c = true) AND (Renewal__c < 2030-01-31)");
    expect(parseSoql(`SELECT Id FROM Account WHERE ${where}`).where).toMatchObject({ op: 'and' });
    expect(buildFilter(null, fields)).toBeNull();
  });

  it('refuses what Salesforce would refuse, with the reason', () => {
    expect(() => buildFilter({ field: 'Nope__c', operator: '=', value: 'x' }, fields)).toThrow(/no field Nope__c/);
    expect(() => buildFilter({ field: 'Description', operator: '=', value: 'x' }, fields)).toThrow(/cannot be filtered/);
    expect(() => buildFilter({ field: 'AnnualRevenue', operator: '=', value: 'lots' }, fields)).toThrow(/needs a number/);
    expect(() => buildFilter({ field: 'Active__c', operator: '=', value: 'yes' }, fields)).toThrow(/true or false/);
    expect(() => buildFilter({ field: 'Renewal__c', operator: '=', value: 'soon' }, fields)).toThrow(/needs a date/);
    expect(() => buildFilter({ field: 'Name) OR (Id', operator: '=', value: 'x' }, fields)).toThrow(/field must be a Salesforce field name/);
    expect(() => buildFilter({ field: 'Name', operator: 'OR', value: 'x' }, fields)).toThrow(/operator must be one of/);
  });
});
