using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

public sealed class ScratchMemoryTests
{
    [Fact]
    public void ReusesAReturnedBlockThatIsLargeEnough()
    {
        using var scratch = new ScratchMemory(TimeSpan.FromMinutes(10));
        ref var first = ref Rent(scratch, 1_000_000);
        var reserved = scratch.ReservedBytes;

        ref var second = ref Rent(scratch, 500_000);

        Assert.True(Unsafe.AreSame(ref first, ref second), "the returned block was not reused");
        Assert.Equal(reserved, scratch.ReservedBytes);
        Assert.True(reserved >= 1_000_000 * sizeof(double));
    }

    [Fact]
    public void GivesIdleMemoryBackAndKeepsWhatIsInUse()
    {
        using var scratch = new ScratchMemory(TimeSpan.FromMilliseconds(50));
        var held = scratch.Rent(2_000_000);
        Rent(scratch, 1_000_000);
        Assert.Equal(3_000_000L * sizeof(double), scratch.ReservedBytes);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (scratch.ReservedBytes != 2_000_000L * sizeof(double) && DateTime.UtcNow < deadline) Thread.Sleep(20);

        Assert.Equal(2_000_000L * sizeof(double), scratch.ReservedBytes);
        held.Slice(0, 2_000_000).Fill(1.0); // still usable
        held.Dispose();
        while (scratch.ReservedBytes != 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Equal(0, scratch.ReservedBytes);
    }

    [Fact]
    public void AMatMulJobLeavesItsMemoryForTheNextAndThenReturnsIt()
    {
        using var scratch = new ScratchMemory(TimeSpan.FromMinutes(10));
        var kernel = new MatMulKernel(scratch);
        var first = kernel.Run(300, KernelContext.None);
        var reserved = scratch.ReservedBytes;
        // C and the packed panels; A and B are generated into the panels, never stored whole.
        Assert.InRange(reserved, 300L * 300 * sizeof(double), (3L * 300 * 300 * sizeof(double)) - 1);

        // The same job again, in reused memory (not cleared by the kernel's user): the same result, no new memory.
        var second = kernel.Run(300, KernelContext.None);
        Assert.Equal(first.Result, second.Result);
        Assert.Equal(reserved, scratch.ReservedBytes);

        scratch.ReleaseIdle();
        Assert.Equal(0, scratch.ReservedBytes);
    }

    [Fact]
    public void RefusesFreshMemoryBeyondTheProcessLimitAndReservesNothing()
    {
        using var scratch = new ScratchMemory(TimeSpan.FromMinutes(10), budgetBytes: () => 100_000_000, usedBytes: () => 90_000_000);

        var refused = Assert.Throws<WorkingMemoryUnavailableException>(() => scratch.Rent(2_000_000));

        Assert.Equal(2_000_000L * sizeof(double), refused.RequiredBytes);
        Assert.Equal(100_000_000, refused.LimitBytes);
        Assert.Equal(90_000_000, refused.UsedBytes);
        Assert.Equal(0, scratch.ReservedBytes);
        using var fits = scratch.Rent(1_000_000); // 8 MB: room for it
    }

    [Fact]
    public void GivesKeptMemoryBackBeforeRefusing()
    {
        // The process's resident memory: 20 MB of its own plus every block this instance holds.
        ScratchMemory? scratch = null;
        using var owner = scratch = new ScratchMemory(TimeSpan.FromMinutes(10), budgetBytes: () => 60_000_000,
            usedBytes: () => 20_000_000 + scratch!.ReservedBytes);
        Rent(scratch, 2_000_000); // 16 MB, kept for the next job

        using var larger = scratch.Rent(4_000_000); // 32 MB: fits only once the kept 16 MB are gone

        Assert.Equal(4_000_000L * sizeof(double), scratch.ReservedBytes);
        // Blocks in use count in full, touched or not: a second 32 MB cannot join them.
        Assert.Throws<WorkingMemoryUnavailableException>(() => scratch.Rent(4_000_000));
    }

    /// <summary>Rents, fills with garbage, returns; the reference to the first element stays comparable.</summary>
    private static ref double Rent(ScratchMemory scratch, int length)
    {
        using var lease = scratch.Rent(length);
        var span = lease.Slice(0, length);
        span.Fill(double.NaN);
        return ref MemoryMarshal.GetReference(span);
    }
}
