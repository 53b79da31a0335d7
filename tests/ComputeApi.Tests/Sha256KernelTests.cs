using System.Security.Cryptography;
using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

public class Sha256KernelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void DigestEqualsAOneShotHashOfTheSameBytes(long mib)
    {
        using var data = new MemoryStream();
        Sha256Kernel.WriteData(mib, data);
        Assert.Equal(mib * Sha256Kernel.MiB, data.Length);

        var output = new Sha256Kernel().Run(mib, KernelContext.None);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data.ToArray())), output.Result);
        Assert.Equal(mib * Sha256Kernel.MiB, output.Work);
    }

    [Fact]
    public async Task DigestEqualsCoreutilsSha256sumOfTheSameBytes()
    {
        var file = Path.GetTempFileName();
        try
        {
            await using (var stream = File.Create(file)) Sha256Kernel.WriteData(2, stream);
            var sha256sum = await ExternalProgram.RunAsync("sha256sum", [file], TimeSpan.FromMinutes(1));

            Assert.True(sha256sum.ExitCode == 0, sha256sum.ToString());
            Assert.Equal(sha256sum.Output.Split(' ')[0], new Sha256Kernel().Run(2, KernelContext.None).Result);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void EveryMebibyteDiffers()
    {
        using var data = new MemoryStream();
        Sha256Kernel.WriteData(2, data);
        var bytes = data.ToArray();
        Assert.False(bytes.AsSpan(0, Sha256Kernel.MiB).SequenceEqual(bytes.AsSpan(Sha256Kernel.MiB, Sha256Kernel.MiB)));
    }

    [Fact]
    public void StopsSoonAfterCancellationMidRun()
    {
        KernelAssert.StopsSoonAfterCancellation(new Sha256Kernel(), 1024 * 1024);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1024 * 1024 + 1)]
    public void RejectsSizesOutsideWhatItCanRun(long size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sha256Kernel().Run(size, KernelContext.None));
    }
}
