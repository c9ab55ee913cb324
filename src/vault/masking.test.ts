import { describe, expect, it } from 'vitest';
import {
  COMPOUND_SURNAMES,
  MASK,
  maskAddress,
  maskIdNumber,
  maskName,
  maskParty,
  maskPhone,
  maskWaybill,
  parseAddress,
} from './masking.js';
import type { WaybillRecord } from './validate.js';

describe('maskName', () => {
  it.each([
    ['王小明', '王**'], // brief example
    ['李娜', '李*'],
    ['王', '王'],
    ['欧阳娜娜', '欧阳**'],
    ['欧阳娜', '欧阳*'],
    ['司马相如', '司马**'],
    ['诸葛亮', '诸葛*'],
    ['上官婉儿', '上官**'],
    ['歐陽修', '歐陽*'],
    ['东方', '东*'], // two characters: surname 东, given name 方
    ['王 小 明', '王**'],
    ['John Smith', 'J*** S****'], // brief: first letter of each word
    ['  John   Smith ', 'J*** S****'],
    ['Mary-Jane O\'Neil', 'M***-J*** O\'N***'],
    ['J. R. R. Tolkien', 'J. R. *. T******'], // 10 letters: 3 visible, the name's first and its longer words first
    ['阿卜杜拉·买买提', '阿***·买**'],
    ['José Álvarez', 'J*** Á******'],
  ])('%s → %s', (name, masked) => {
    expect(maskName(name)).toBe(masked);
    expect(maskName(name, 'label')).toBe(masked);
  });

  it('keeps both characters of every listed compound surname', () => {
    expect(COMPOUND_SURNAMES.size).toBeGreaterThanOrEqual(80);
    for (const s of COMPOUND_SURNAMES) expect(maskName(`${s}小明`)).toBe(`${s}**`);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(maskName('𠀋小明')).toBe('𠀋**');
  });

  it.each([
    ['王·小·明', '王·*·*'],
    ['J o h n', 'J * * *'],
    ['J-o-h-n S-m-i-t-h', 'J-*-*-* S-*-*-*-*'],
    ['J\u200bo\u200bh\u200bn', 'J\u200b*\u200b*\u200b*'],
    ['Li Na', 'L* **'],
  ])('counts letters, not words: %s → %s', (name, masked) => {
    expect(maskName(name)).toBe(masked);
  });

  it('shows at most a third of the letters (at least one) whatever the separators', () => {
    const seps = [' ', '·', '-', '.', "'", '\u200b', '・', '•', '_', '/', ',', '\t'];
    const bases = ['王小明', '欧阳娜娜', 'JohnSmith', 'Muhammad', 'Ng', '阿卜杜拉买买提', 'José'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 500; round++) {
      const base = Array.from(bases[round % bases.length]!);
      let name = '';
      for (const ch of base) name += (name && next() < 0.7 ? seps[Math.floor(next() * seps.length)]! : '') + ch;
      const masked = maskName(name);
      const visible = Array.from(masked).filter((c) => /[\p{L}\p{M}\p{N}]/u.test(c)).length;
      const letters = base.length;
      const han = /^\p{Script=Han}+$/u.test(name.replace(/\s+/g, ''));
      expect(visible, `${name} → ${masked}`).toBeLessThanOrEqual(han ? 2 : Math.max(1, Math.floor(letters / 3)));
      expect(masked).not.toBe(name);
    }
  });

  it('never returns a full name of two or more characters', () => {
    for (const n of ['王小明', '欧阳娜娜', 'John Smith', 'Li Na', 'Ng']) {
      expect(maskName(n)).not.toBe(n);
      expect(maskName(n)).toContain('*');
    }
  });
});

describe('maskPhone', () => {
  it.each([
    ['13812345678', '138****5678', '*******5678'], // brief examples
    ['+86 138 1234 5678', '138****5678', '*******5678'],
    ['17012345678-1234', '170****5678-****', '*******5678-****'],
    ['010-12345678', '010-****5678', '***-****5678'],
    ['0755-1234567', '0755-***4567', '****-***4567'],
    ['0755-87654321-123', '0755-****4321-***', '****-****4321-***'],
    ['400-123-4567', '400-***-4567', '***-***-4567'],
  ])('%s → screen %s, label %s', (phone, screen, label) => {
    expect(maskPhone(phone)).toBe(screen);
    expect(maskPhone(phone, 'screen')).toBe(screen);
    expect(maskPhone(phone, 'label')).toBe(label);
  });

  it('hides at least 6 digits on a label (GB/T 41833-2022)', () => {
    for (const p of ['13812345678', '010-12345678', '0755-1234567', '021-87654321-12']) {
      const digits = maskPhone(p, 'label').replace(/\D/g, '');
      const all = p.replace(/\D/g, '');
      expect(all.length - digits.length).toBeGreaterThanOrEqual(6);
    }
  });

  it('turns anything that is not a phone number into a fixed mask', () => {
    for (const p of ['', 'call me', '12345', '+1 415 555 0100', '1381234567890123']) {
      expect(maskPhone(p)).toBe(MASK);
      expect(maskPhone(p, 'label')).toBe(MASK);
    }
  });
});

describe('maskIdNumber', () => {
  it('screen keeps the first and last character (brief example)', () => {
    expect(maskIdNumber('110105198503062019')).toBe('1****************9');
    expect(maskIdNumber('11010519491231002X')).toBe('1****************X');
  });

  it('is never printed on a label', () => {
    expect(maskIdNumber('110105198503062019', 'label')).toBe('');
  });

  it('masks odd lengths without revealing more than two characters', () => {
    expect(maskIdNumber('110105491231002')).toBe('1*************2');
    expect(maskIdNumber('12')).toBe('**');
    expect(maskIdNumber('')).toBe('*');
  });
});

describe('maskAddress', () => {
  it.each([
    // brief example
    ['北京市朝阳区建国路88号', '北京市朝阳区****', '北京市朝阳区建国路****'],
    ['北京市朝阳区建国路88号3号楼2单元501室', '北京市朝阳区****', '北京市朝阳区建国路****'],
    // municipalities are province and city at once; written once, in canonical form
    ['北京市北京市朝阳区建国路88号', '北京市朝阳区****', '北京市朝阳区建国路****'],
    ['北京朝阳区建国路88号', '北京市朝阳区****', '北京市朝阳区建国路****'],
    ['上海市浦东新区世纪大道100号', '上海市浦东新区****', '上海市浦东新区世纪大道****'],
    ['重庆市巫山县巫峡镇广东中路8号', '重庆市巫山县****', '重庆市巫山县巫峡镇广东中路****'],
    // provinces, autonomous regions, prefectures, leagues, banners
    ['广东省广州市天河区天河路385号', '广东省广州市天河区****', '广东省广州市天河区天河路****'],
    ['广东 广州 天河区 体育西路 1 号', '广东省广州市天河区****', '广东省广州市天河区体育西路****'],
    ['内蒙古自治区呼和浩特市新城区中山东路1号', '内蒙古自治区呼和浩特市新城区****', '内蒙古自治区呼和浩特市新城区中山东路****'],
    ['内蒙古锡林郭勒盟锡林浩特市额尔敦路2号', '内蒙古自治区锡林郭勒盟锡林浩特市****', '内蒙古自治区锡林郭勒盟锡林浩特市额尔敦路****'],
    ['内蒙古自治区呼伦贝尔市鄂温克族自治旗巴彦托海镇3号', '内蒙古自治区呼伦贝尔市鄂温克族自治旗****', '内蒙古自治区呼伦贝尔市鄂温克族自治旗巴彦托海镇****'],
    ['四川省阿坝藏族羌族自治州马尔康市达萨街5号', '四川省阿坝藏族羌族自治州马尔康市****', '四川省阿坝藏族羌族自治州马尔康市达萨街****'],
    ['黑龙江省大兴安岭地区漠河市北极村', '黑龙江省大兴安岭地区漠河市****', '黑龙江省大兴安岭地区漠河市****'],
    // county-level cities directly under a province
    ['湖北省仙桃市仙桃大道1号', '湖北省仙桃市****', '湖北省仙桃市仙桃大道****'],
    ['新疆维吾尔自治区石河子市北四路12号', '新疆维吾尔自治区石河子市****', '新疆维吾尔自治区石河子市北四路****'],
    // cities without districts: towns follow the city
    ['广东省东莞市南城街道鸿福路200号', '广东省东莞市****', '广东省东莞市南城街道鸿福路****'],
    // no province written; same-named city and province (吉林)
    ['广州市天河区天河路385号', '广州市天河区****', '广州市天河区天河路****'],
    ['吉林市船营区北京路1号', '吉林市船营区****', '吉林市船营区北京路****'],
    ['吉林省吉林市船营区北京路1号', '吉林省吉林市船营区****', '吉林省吉林市船营区北京路****'],
    // county-level city written without its prefecture
    ['云南省大理市下关镇人民路5号', '云南省大理市****', '云南省大理市下关镇人民路****'],
  ])('%s → screen %s, label %s', (address, screen, label) => {
    expect(maskAddress(address)).toBe(screen);
    expect(maskAddress(address, 'label')).toBe(label);
  });

  it.each([
    ['朝阳区建国路88号', 'district alone is ambiguous (北京 and 长春 both have one)'],
    ['建国路88号', 'no division at all'],
    ['香港九龙弥敦道1号', 'outside the division list'],
    ['Flat 5, 10 Downing Street, London', 'foreign'],
    ['', 'empty'],
  ])('masks %s entirely (%s)', (address) => {
    expect(maskAddress(address)).toBe(MASK);
    expect(maskAddress(address, 'label')).toBe(MASK);
  });

  it('keeps only what it recognises when a level is missing or unknown', () => {
    // 朝阳门 is in 东城区: a short-form district guess would print the wrong district
    expect(maskAddress('北京市朝阳门内大街5号')).toBe('北京市****');
    expect(maskAddress('北京市朝阳门内大街5号', 'label')).toBe('北京市****');
    // a city that has districts, but none recognised: no street may follow
    expect(maskAddress('广东省广州市萝岗区开创大道1号', 'label')).toBe('广东省广州市****');
    // 朝阳 alone is not the city 朝阳市 (辽宁) unless one of its districts follows
    expect(maskAddress('朝阳建国路88号')).toBe(MASK);
    expect(maskAddress('朝阳双塔区新华路1号')).toBe('朝阳市双塔区****');
  });

  it('never keeps a house, building, unit or room on a label', () => {
    for (const a of [
      '北京市朝阳区阳光小区二单元十二号楼道口',
      '北京市朝阳区十二号楼道口',
      '北京市朝阳区建国路三号楼道口',
      '北京市朝阳区二单元楼道',
      '北京市朝阳区幸福小区西街',
      '北京市朝阳区幸福村五组',
      '北京市朝阳区建国路八十八号院三号楼',
      '广东省深圳市南山区科技园南区3栋',
      '上海市浦东新区张江镇碧波路690号3号楼501室',
    ]) {
      const label = maskAddress(a, 'label');
      expect(label).toMatch(/\*{4}$/);
      expect(label).not.toMatch(/号|楼|栋|单元|室|村|组|\d/);
    }
    expect(maskAddress('上海市浦东新区张江镇碧波路690号3号楼501室', 'label')).toBe('上海市浦东新区张江镇碧波路****');
  });

  it('prints a bare division without a mask, since nothing is hidden', () => {
    expect(maskAddress('北京市朝阳区')).toBe('北京市朝阳区');
    expect(maskAddress('新疆维吾尔自治区石河子市北四路', 'label')).toBe('新疆维吾尔自治区石河子市北四路');
    expect(maskAddress('新疆维吾尔自治区石河子市北四路')).toBe('新疆维吾尔自治区石河子市****');
  });

  it('never returns the input address with its detail', () => {
    const a = '浙江省杭州市西湖区文三路90号东部软件园1号楼';
    expect(maskAddress(a)).toBe('浙江省杭州市西湖区****');
    expect(maskAddress(a, 'label')).toBe('浙江省杭州市西湖区文三路****');
  });
});

describe('parseAddress', () => {
  it('names each level, with a municipality as province and city', () => {
    expect(parseAddress('北京市朝阳区建国路88号3号楼')).toEqual({
      province: '北京市',
      city: '北京市',
      district: '朝阳区',
      street: '建国路',
      complete: true,
      hasDetail: true,
    });
    expect(parseAddress('广州市天河区天河路385号')).toMatchObject({ province: null, city: '广州市', district: '天河区' });
    expect(parseAddress('随便写的地址')).toMatchObject({ province: null, city: null, district: null, street: null, hasDetail: true });
  });
});

const record: WaybillRecord = {
  waybill: 'SF1234567890123',
  origin_site: 'BJ-CY-01',
  dest_site: 'SH-PD-02',
  sender: { name: '王小明', phone: '13812345678', address: '北京市朝阳区建国路88号', id_number: '110105198503062019' },
  recipient: { name: '欧阳娜娜', phone: '13987654321', address: '上海市浦东新区世纪大道100号3号楼2单元501室' },
};

describe('maskParty / maskWaybill', () => {
  it('masks a whole waybill for the screen, keeping its shape', () => {
    expect(maskWaybill(record)).toEqual({
      waybill: 'SF1234567890123',
      origin_site: 'BJ-CY-01',
      dest_site: 'SH-PD-02',
      sender: { name: '王**', phone: '138****5678', address: '北京市朝阳区****', id_number: '1****************9' },
      recipient: { name: '欧阳**', phone: '139****4321', address: '上海市浦东新区****' },
    });
  });

  it('masks a label and leaves the ID number off it entirely', () => {
    const label = maskWaybill(record, 'label');
    expect(label).toEqual({
      waybill: 'SF1234567890123',
      origin_site: 'BJ-CY-01',
      dest_site: 'SH-PD-02',
      sender: { name: '王**', phone: '*******5678', address: '北京市朝阳区建国路****' },
      recipient: { name: '欧阳**', phone: '*******4321', address: '上海市浦东新区世纪大道****' },
    });
    expect('id_number' in label.sender).toBe(false);
  });

  it('leaves id_number out when the party has none', () => {
    expect('id_number' in maskParty(record.recipient)).toBe(false);
    expect('id_number' in maskParty({ ...record.sender, id_number: '' })).toBe(false);
  });

  it('contains no plaintext PII in either profile', () => {
    for (const profile of ['screen', 'label'] as const) {
      const { sender, recipient } = maskWaybill(record, profile);
      const text = JSON.stringify({ sender, recipient });
      for (const secret of ['小明', '娜娜', '13812345678', '12345678', '1234', '8765', '88号', '501', '110105198503062019', '19850306']) {
        expect(text).not.toContain(secret);
      }
    }
  });
});
