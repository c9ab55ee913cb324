import { describe, expect, it } from 'vitest';
import { addressNumbers, sameAddress } from './store.js';

const HOME = '上海市黄浦区南京东路88号3号楼2单元501室';

describe('name+address matching: the same household only (attack review 3, S4)', () => {
  it('a near-miss address is not the same: another room, unit, building or house number', () => {
    for (const other of [
      '上海市黄浦区南京东路88号3号楼2单元502室',
      '上海市黄浦区南京东路88号3号楼1单元501室',
      '上海市黄浦区南京东路88号4号楼2单元501室',
      '上海市黄浦区南京东路86号3号楼2单元501室',
      '上海市黄浦区南京东路88号3号楼2单元',
      '上海市黄浦区南京东路88号3号楼2单元5012室',
    ]) expect(sameAddress(HOME, other), other).toBe(false);
  });
  it('formatting variants of the same address still match', () => {
    for (const variant of [
      HOME,
      '上海市黄浦区南京东路88号 3号楼 2单元 501室',
      '上海市黄浦区南京东路８８号３号楼２单元５０１室',
      '上海市黄浦区南京东路88号3栋2单元501',
      '上海市，黄浦区，南京东路88号3幢2单元0501室',
      '上海市黄浦区南京东路88号3-2-501',
      '上海黄浦区南京东路88号3号楼2单元501室',
    ]) expect(sameAddress(HOME, variant), variant).toBe(true);
  });
  it('reads the numbers in order, leading zeros dropped', () => {
    expect(addressNumbers('南京东路88号3号楼2单元0501室')).toEqual(['88', '3', '2', '501']);
    expect(addressNumbers('南京东路８８号')).toEqual(['88']);
  });
  it('another street with the same numbers is not the same place', () => {
    expect(sameAddress(HOME, '北京市朝阳区建国路88号3号楼2单元501室')).toBe(false);
  });
});
