/**
 * Attack review 10, F4: personal data in the descriptive fields of an event (`role`, `ip`, `city`,
 * `app_hash`, `origin_site`, `dest_site`, `dest_city`) passed the contract check, which bounded them
 * in length only. Each is now held to its rule, in the one contract check every reader shares.
 */
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ROLES, validateEvent } from './events.js';
import { isValidEvent } from './fast-validate.js';
import { CITY_MAX, cityNameProblem, eventFieldRuleProblem, isCityName, isIpAddress, isRole } from './field-rules.js';

const TS = '2026-11-11T02:00:00.000Z';
const PHONE = '13812345678';
const ID = '110105198503062019';
const login = (extra: object) => ({ id: 'l-1', ts: TS, type: 'login', account: 'LQ-1', result: 'success', ...extra });
const waybill = (extra: object) => ({ id: 'w-1', ts: TS, type: 'waybill', waybill: 'SF1000000001', ...extra });

/** Both paths decide alike, and a refusal names the field and never repeats the value. */
function refused(e: Record<string, unknown>, field: string, value: string) {
  expect(isValidEvent(e)).toBe(false);
  const r = validateEvent(e);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toMatch(new RegExp(`^field "${field}": `));
  expect(r.reason).not.toContain(value);
  for (const part of value.split(/\s+/)) if (part.length > 1) expect(r.reason).not.toContain(part);
}
function accepted(e: Record<string, unknown>) {
  expect(isValidEvent(e)).toBe(true);
  expect(validateEvent(e).ok).toBe(true);
}

describe('role', () => {
  it('is one of the contract roles, exactly ROLES', () => {
    for (const r of ROLES) {
      expect(isRole(r)).toBe(true);
      accepted(login({ role: r }));
    }
    expect(['Courier', 'courier ', 'admin', '', 'root'].some(isRole)).toBe(false);
  });
  it('denied: a name and phone as a role (it reached an alert summary, the response reason and the SIEM)', () => {
    refused(login({ role: `张伟 ${PHONE}` }), 'role', `张伟 ${PHONE}`);
    refused({ id: 'a-1', ts: TS, type: 'access', account: 'LQ-1', action: 'view', role: PHONE }, 'role', PHONE);
  });
});

describe('ip', () => {
  it('allowed: IPv4 and IPv6 addresses', () => {
    for (const ip of ['10.1.2.3', '0.0.0.0', '255.255.255.255', '::1', '2001:db8::1', '::ffff:192.0.2.1']) accepted(login({ ip }));
  });
  it('denied: a phone, a name, a zone id carrying free text, anything isIP refuses', () => {
    refused(login({ ip: PHONE }), 'ip', PHONE);
    refused(login({ ip: `fe80::1%${PHONE}` }), 'ip', PHONE);
    refused(login({ ip: '张伟' }), 'ip', '张伟');
    for (const ip of ['1.2.3.04', '256.0.0.1', '1.2.3', '1.2.3.4.5', '1.2.3.4 ', '', '１.2.3.4', '1.2.3.4:80']) expect(isIpAddress(ip), ip).toBe(false);
  });
  it('decides as node:net isIP (without zones) on generated strings', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const units = ['0', '1', '2', '5', '9', '25', '255', '256', '00', '.', '.', ':', '::', 'a', 'f', 'ffff', '%', ' '];
    for (let i = 0; i < 50_000; i++) {
      let s = '';
      const n = 1 + Math.floor(rnd() * 12);
      for (let k = 0; k < n; k++) s += units[Math.floor(rnd() * units.length)];
      expect(isIpAddress(s), s).toBe(isIP(s) !== 0 && !s.includes('%'));
    }
    for (let i = 0; i < 20_000; i++) {
      const s = Array.from({ length: 4 }, () => String(Math.floor(rnd() * 300))).join('.');
      expect(isIpAddress(s), s).toBe(isIP(s) === 4);
    }
  });
});

describe('city and dest_city', () => {
  it('allowed: city names, Chinese and Latin', () => {
    for (const city of ['北京', '上海', '上海市', 'Beijing', '乌鲁木齐', "Xi'an", 'São Paulo', 'St. Petersburg', '六盘水', '克孜勒苏柯尔克孜自治州', 'x'.repeat(CITY_MAX)]) {
      expect(cityNameProblem(city), city).toBeNull();
      accepted(login({ city }));
      accepted(waybill({ dest_city: city }));
    }
  });
  it('denied: a phone in the city, a name with an ID number as a destination city, numbers in every form', () => {
    refused(login({ city: `北京 ${PHONE}` }), 'city', PHONE);
    refused(waybill({ dest_city: `张伟${ID}` }), 'dest_city', ID);
    refused(waybill({ dest_city: `张伟 ${ID}` }), 'dest_city', ID);
    for (const city of [PHONE, '１３８１２３４５６７８', '张伟一三八一二三四五六七八', '北京一二三四', '北京1', ' Beijing', '', 'x'.repeat(CITY_MAX + 1), 'Bei\njing', '<img>', '张伟@example']) {
      expect(isCityName(city), city).toBe(false);
    }
  });
});

describe('app_hash and routing sites: identifiers', () => {
  it('allowed: hex build hashes and site codes', () => {
    accepted(login({ app_hash: 'sha256:9f86d081884c7d65' }));
    accepted(waybill({ origin_site: 'OUT-SH-1', dest_site: 'OUT-BJ-1', dest_city: '北京' }));
  });
  it('denied: an ID number as app_hash, a phone as dest_site, a name as origin_site', () => {
    refused(login({ app_hash: ID }), 'app_hash', ID);
    refused(waybill({ dest_site: PHONE }), 'dest_site', PHONE);
    refused(waybill({ origin_site: '张伟' }), 'origin_site', '张伟');
  });
  it('a field of another type is not this type\'s (dropped before anything keeps it)', () => {
    expect(eventFieldRuleProblem({ type: 'scan', app_hash: ID, dest_site: PHONE })).toBeNull();
  });
});
