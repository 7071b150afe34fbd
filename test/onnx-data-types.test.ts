/**
 * ONNX element type codes (src/onnx/data-types.ts): the numbers are the ONNX spec's
 * (onnx.proto's TensorProto.DataType), which every generated graph and every read file relies
 * on, and the names error messages use for them.
 */
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { DataType, elemTypeName } from '../src/onnx/data-types';
import { buildModel, inputInfo, listTensors, valueInfo } from '../src/onnx';

describe('ONNX data types', () => {
  it('are the codes of the ONNX spec', () => {
    assert.deepEqual(
      [DataType.FLOAT, DataType.UINT8, DataType.INT8, DataType.INT32, DataType.INT64, DataType.BOOL],
      [1, 2, 3, 6, 7, 9],
    );
    assert.deepEqual([DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16], [10, 11, 16]);
  });

  it('have readable names, and unknown codes say so', () => {
    assert.equal(elemTypeName(DataType.FLOAT), 'float32');
    assert.equal(elemTypeName(DataType.DOUBLE), 'float64');
    assert.equal(elemTypeName(DataType.INT64), 'int64');
    assert.equal(elemTypeName(DataType.BFLOAT16), 'bfloat16');
    assert.equal(elemTypeName(null), 'unknown');
    assert.equal(elemTypeName(DataType.STRING), 'type 8');
    assert.equal(elemTypeName(99), 'type 99');
  });

  it('are what the builder writes and graph-edit reads back', () => {
    const bytes = buildModel({
      name: 'types',
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
        { op: 'Cast', inputs: ['x'], outputs: ['half'], attributes: { to: DataType.FLOAT16 } },
        { op: 'Greater', inputs: ['x', 'x'], outputs: ['more'] },
      ],
      inputs: [valueInfo('x', DataType.FLOAT, [2, 3])],
      outputs: [valueInfo('half', DataType.FLOAT16, [2, 3])],
    });
    const decoded = onnx.ModelProto.decode(bytes);
    assert.equal(decoded.graph?.input?.[0].type?.tensorType?.elemType, 1);
    assert.equal(inputInfo(bytes).elemType, DataType.FLOAT);
    const types = Object.fromEntries(listTensors(bytes).map((t) => [t.name, elemTypeName(t.elemType)]));
    assert.deepEqual(types, { shape: 'int64', half: 'float16', more: 'bool' });
  });
});
