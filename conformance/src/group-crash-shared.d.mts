// Types of group-crash-shared.mjs (plain ESM so the group crash child can run it without a compiler).
import type { ReplicaLike } from "./types.js";

export declare const GROUP_SENDER: number;
export declare const ORDERS_PER_GROUP: number;
export declare const LINES_PER_ORDER: number;
export declare const WRITER_LINES: number;
export declare const GROUP_MIGRATIONS: { up: string; down: string }[];
export declare function groupRows(
  orderIds: number[],
  lines: number,
  epoch: number,
): { orders: { id: number; epoch: number; lines: number }[]; lines: { order_id: number; n: number; epoch: number; qty: number }[] };
export declare function writeGroup(replica: ReplicaLike, orderIds: number[], lines: number, epoch: number, many: boolean): string[];
