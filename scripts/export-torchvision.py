#!/usr/bin/env python3
"""Export torchvision ResNet18 and Wide-ResNet50-2 (ImageNet weights) for node-red-padim.

Each network is cut after layer3 (layer4 and the classifier are never used by PaDiM) and
written as ONNX with three outputs named layer1, layer2, layer3 (strides 4, 8, 16), input
`input` float32 [N, 3, H, W] (RGB, ImageNet mean/std normalised), dynamic N, H and W,
opset 17. The files are what the `resnet18` and `wide_resnet50_2` presets look for.

Needs: python3 with torch and torchvision, and internet access the first time (weights).
Usage: python3 export-torchvision.py --out ~/.padim/models [--models resnet18 wide_resnet50_2]
"""
import argparse
import inspect
import os

import torch
import torchvision

WEIGHTS = {
    "resnet18": torchvision.models.ResNet18_Weights.IMAGENET1K_V1,
    "wide_resnet50_2": torchvision.models.Wide_ResNet50_2_Weights.IMAGENET1K_V1,
}


class Stages(torch.nn.Module):
    """The ResNet stem and layer1..3, returning the three stage outputs."""

    def __init__(self, net):
        super().__init__()
        self.stem = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3 = net.layer1, net.layer2, net.layer3

    def forward(self, x):
        f1 = self.layer1(self.stem(x))
        f2 = self.layer2(f1)
        return f1, f2, self.layer3(f2)


def export(name, out_dir):
    net = getattr(torchvision.models, name)(weights=WEIGHTS[name]).eval()
    path = os.path.join(out_dir, f"{name}.onnx")
    dynamic = {"input": {0: "N", 2: "H", 3: "W"}}
    dynamic.update({f"layer{k}": {0: "N", 2: f"layer{k}_H", 3: f"layer{k}_W"} for k in (1, 2, 3)})
    kwargs = dict(
        input_names=["input"],
        output_names=["layer1", "layer2", "layer3"],
        dynamic_axes=dynamic,
        opset_version=17,
        do_constant_folding=True,
    )
    # Newer torch defaults to the dynamo exporter; the classic TorchScript exporter is the one
    # whose dynamic_axes and output names behave the same on every version: ask for it.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(Stages(net), torch.randn(1, 3, 256, 256), path, **kwargs)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.expanduser("~"), ".padim", "models"))
    parser.add_argument("--models", nargs="+", choices=sorted(WEIGHTS), default=sorted(WEIGHTS))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.models:
        export(name, args.out)


if __name__ == "__main__":
    main()
