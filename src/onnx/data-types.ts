/**
 * ONNX element type codes (TensorProto.DataType), in one place: the enum onnx-proto generates
 * from onnx.proto, so no code here writes the spec's numbers again, and the readable names error
 * messages use for them.
 */
import { onnx } from 'onnx-proto';

/** TensorProto.DataType: FLOAT = 1, UINT8 = 2, INT8 = 3, INT64 = 7, FLOAT16 = 10, DOUBLE = 11, ... */
export const DataType = onnx.TensorProto.DataType;
export type DataTypeCode = onnx.TensorProto.DataType;

const NAMES: Partial<Record<DataTypeCode, string>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.UINT8]: 'uint8',
  [DataType.INT8]: 'int8',
  [DataType.UINT16]: 'uint16',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.BOOL]: 'bool',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
  [DataType.BFLOAT16]: 'bfloat16',
};

/** A readable name for an ONNX element type code ('unknown' for null, `type N` for an unnamed code). */
export function elemTypeName(code: number | null): string {
  if (code === null) return 'unknown';
  return NAMES[code as DataTypeCode] ?? `type ${code}`;
}
