/**
 * Chinese surnames with population shares, shaped to the published distribution (Ministry of
 * Public Security household-registration rankings): the top 5 cover ~32% of people, the top 100
 * ~86%. The top 20 carry their approximate published shares; ranks 21-100 decay geometrically and
 * are scaled so the top 100 sum to 86%; the remaining 14% spread over a tail that includes the
 * compound surnames (欧阳, 司马, 诸葛, 上官 ...), which together hold ~0.35%.
 */
const TOP100 =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许邓韩冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常';
const TOP20_SHARES = [7.4, 7.3, 7.0, 5.5, 4.7, 3.1, 2.3, 2.2, 2.0, 1.9, 1.6, 1.5, 1.45, 1.3, 1.3, 1.15, 1.1, 1.05, 1.0, 0.95];
const TAIL =
  '汤康易乔赖文施洪辛柴庞樊兰殷牛章葛伍尚欧左齐庄甘聂盛詹祝涂耿关符屈包华单柳申岳舒温骆焦鲁倪时季卜路童颜饶翟席管滕谷晏邢褚柯蒲祁宁池和梅阮芦杭俞蓝刁苗纪隋车党冉粟鲍凌霍米项窦房缪邬卓帅巩闵靳丛全解麦邝戚喻巫楼景卫贝宫司郎边乐连储钮尤';
const COMPOUND: readonly [string, number][] = [
  ['欧阳', 0.09],
  ['上官', 0.04],
  ['司马', 0.04],
  ['诸葛', 0.03],
  ['司徒', 0.03],
  ['令狐', 0.02],
  ['慕容', 0.02],
  ['夏侯', 0.02],
  ['皇甫', 0.02],
  ['尉迟', 0.01],
  ['申屠', 0.01],
  ['端木', 0.01],
  ['公孙', 0.01],
];

export const COMPOUND_SURNAMES: readonly string[] = COMPOUND.map(([s]) => s);

function geometric(n: number, first: number, last: number, total: number): number[] {
  const q = Math.pow(last / first, 1 / (n - 1));
  const raw = Array.from({ length: n }, (_, i) => first * Math.pow(q, i));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w * total) / sum);
}

export interface SurnameTable {
  names: string[];
  /** percent of the population */
  shares: number[];
}

export function surnameTable(): SurnameTable {
  const top = [...TOP100];
  if (top.length !== 100 || new Set(top).size !== 100) throw new Error(`surname table: top list has ${top.length} entries`);
  const topSet = new Set(top);
  const tail = [...new Set([...TAIL])].filter((c) => !topSet.has(c));
  const top20Sum = TOP20_SHARES.reduce((a, b) => a + b, 0);
  const rest80 = geometric(80, 0.85, 0.17, 86 - top20Sum);
  const compoundSum = COMPOUND.reduce((a, [, w]) => a + w, 0);
  const tailShares = geometric(tail.length, 0.3, 0.02, 14 - compoundSum);
  return {
    names: [...top, ...tail, ...COMPOUND.map(([s]) => s)],
    shares: [...TOP20_SHARES, ...rest80, ...tailShares, ...COMPOUND.map(([, w]) => w)],
  };
}
