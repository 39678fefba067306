# The package defaults layer's Nix-provided settings, as plain data: the
# kernel the vm backend boots and, on NixOS, the container's root.
{ kernelImage, containerRoot ? null }:
{
  vm.kernel = kernelImage;
} // (if containerRoot == null then { } else { container.root = containerRoot; })
