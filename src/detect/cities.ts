/**
 * Approximate coordinates of major mainland cities, for "far city" and impossible-travel checks.
 * Keys are cityKey()-normalised Chinese names; pinyin aliases map to the same point.
 * Unknown cities still count as "different city", just without a distance. Extend through
 * config `cities: { name: [lat, lon] }`.
 */
import { cityKey } from './util.js';

const RAW: ReadonlyArray<readonly [string, string, number, number]> = [
  ['北京', 'beijing', 39.9, 116.4],
  ['上海', 'shanghai', 31.23, 121.47],
  ['天津', 'tianjin', 39.13, 117.2],
  ['重庆', 'chongqing', 29.56, 106.55],
  ['广州', 'guangzhou', 23.13, 113.26],
  ['深圳', 'shenzhen', 22.54, 114.06],
  ['杭州', 'hangzhou', 30.27, 120.16],
  ['南京', 'nanjing', 32.06, 118.8],
  ['苏州', 'suzhou', 31.3, 120.59],
  ['武汉', 'wuhan', 30.59, 114.31],
  ['成都', 'chengdu', 30.66, 104.07],
  ['西安', "xi'an", 34.34, 108.94],
  ['郑州', 'zhengzhou', 34.75, 113.63],
  ['长沙', 'changsha', 28.23, 112.94],
  ['沈阳', 'shenyang', 41.8, 123.43],
  ['大连', 'dalian', 38.91, 121.61],
  ['哈尔滨', 'harbin', 45.8, 126.53],
  ['长春', 'changchun', 43.82, 125.32],
  ['济南', 'jinan', 36.65, 117.12],
  ['青岛', 'qingdao', 36.07, 120.38],
  ['合肥', 'hefei', 31.82, 117.23],
  ['福州', 'fuzhou', 26.07, 119.3],
  ['厦门', 'xiamen', 24.48, 118.09],
  ['南昌', 'nanchang', 28.68, 115.86],
  ['昆明', 'kunming', 25.04, 102.71],
  ['贵阳', 'guiyang', 26.65, 106.63],
  ['南宁', 'nanning', 22.82, 108.37],
  ['海口', 'haikou', 20.04, 110.2],
  ['石家庄', 'shijiazhuang', 38.04, 114.51],
  ['太原', 'taiyuan', 37.87, 112.55],
  ['呼和浩特', 'hohhot', 40.84, 111.75],
  ['兰州', 'lanzhou', 36.06, 103.83],
  ['西宁', 'xining', 36.62, 101.78],
  ['银川', 'yinchuan', 38.49, 106.23],
  ['乌鲁木齐', 'urumqi', 43.83, 87.62],
  ['拉萨', 'lhasa', 29.65, 91.13],
  ['宁波', 'ningbo', 29.87, 121.54],
  ['无锡', 'wuxi', 31.49, 120.31],
  ['东莞', 'dongguan', 23.02, 113.75],
  ['佛山', 'foshan', 23.02, 113.12],
  ['温州', 'wenzhou', 28.0, 120.7],
  ['金华', 'jinhua', 29.08, 119.65],
  ['义乌', 'yiwu', 29.31, 120.08],
  ['泉州', 'quanzhou', 24.87, 118.68],
  ['徐州', 'xuzhou', 34.2, 117.28],
  ['常州', 'changzhou', 31.81, 119.97],
  ['南通', 'nantong', 31.98, 120.89],
  ['烟台', 'yantai', 37.46, 121.45],
  ['潍坊', 'weifang', 36.71, 119.16],
  ['临沂', 'linyi', 35.1, 118.36],
  ['洛阳', 'luoyang', 34.62, 112.45],
  ['唐山', 'tangshan', 39.63, 118.18],
  ['保定', 'baoding', 38.87, 115.46],
  ['惠州', 'huizhou', 23.11, 114.42],
  ['中山', 'zhongshan', 22.52, 113.39],
  ['珠海', 'zhuhai', 22.27, 113.58],
  ['汕头', 'shantou', 23.35, 116.68],
  ['绍兴', 'shaoxing', 30.0, 120.58],
  ['嘉兴', 'jiaxing', 30.75, 120.76],
  ['台州', 'taizhou', 28.66, 121.42],
  ['扬州', 'yangzhou', 32.39, 119.41],
  ['芜湖', 'wuhu', 31.35, 118.43],
  ['赣州', 'ganzhou', 25.83, 114.93],
  ['桂林', 'guilin', 25.27, 110.29],
  ['三亚', 'sanya', 18.25, 109.51],
  ['宜昌', 'yichang', 30.69, 111.29],
  ['襄阳', 'xiangyang', 32.01, 112.12],
  ['绵阳', 'mianyang', 31.47, 104.68],
  ['遵义', 'zunyi', 27.73, 106.93],
  ['香港', 'hongkong', 22.32, 114.17],
  ['澳门', 'macau', 22.2, 113.54],
];

export type CityTable = Map<string, readonly [number, number]>;

export function buildCityTable(extra: Record<string, readonly [number, number]> = {}): CityTable {
  const table: CityTable = new Map();
  for (const [zh, py, lat, lon] of RAW) {
    table.set(cityKey(zh), [lat, lon]);
    table.set(cityKey(py), [lat, lon]);
  }
  for (const [name, point] of Object.entries(extra)) table.set(cityKey(name), point);
  return table;
}
