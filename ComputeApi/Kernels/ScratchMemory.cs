using System.Runtime.InteropServices;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// Large working memory for kernels (a matmul job of order 2048 needs 36 MiB), kept between jobs and given
/// back to the operating system once no job has used it for <see cref="IdleRelease"/>.
/// Fresh memory costs a page fault per 4 KiB page on first touch (about 2 µs each on a virtual machine: 19 ms
/// for those 36 MiB), so back-to-back jobs reuse it; an idle service returns to its small footprint. The
/// blocks are mapped directly (not from the GC heap, not from malloc, whose freed blocks may stay in the
/// process), so releasing one returns its pages at once.
/// Outside the GC heap, this memory is not held back by the GC's limit, so it keeps to a budget itself: a block
/// that would take the memory the container is charged past <see cref="MemoryAccounting.BudgetFraction"/> of its
/// limit (<see cref="MemoryAccounting"/>) is refused (<see cref="WorkingMemoryUnavailableException"/>) instead of
/// letting the kernel's OOM killer end the process and every job in it.
/// </summary>
public sealed partial class ScratchMemory : IDisposable
{
    /// <summary>The instance the kernels use: memory kept 30 seconds after the last job that needed it.</summary>
    public static ScratchMemory Shared { get; } = new(TimeSpan.FromSeconds(30));

    private readonly List<Block> _free = [];
    private readonly Timer _release;
    private readonly Func<long> _budgetBytes;
    private readonly Func<long> _usedBytes;
    private long _reservedBytes;
    private long _inUseBytes;

    /// <param name="idleRelease">How long unused memory is kept.</param>
    /// <param name="budgetBytes">The most memory the process may fill (default: the budget of <see cref="Accounting"/>).</param>
    /// <param name="usedBytes">The memory in use now (default: as <see cref="Accounting"/> measures it).</param>
    public ScratchMemory(TimeSpan idleRelease, Func<long>? budgetBytes = null, Func<long>? usedBytes = null)
    {
        IdleRelease = idleRelease;
        if (budgetBytes is null || usedBytes is null)
        {
            var accounting = Accounting = MemoryAccounting.ForThisProcess();
            budgetBytes ??= () => accounting.BudgetBytes;
            usedBytes ??= accounting.UsedBytes;
        }
        _budgetBytes = budgetBytes;
        _usedBytes = usedBytes;
        _release = new Timer(_ => ReleaseIdle());
    }

    /// <summary>How this process's memory is measured, unless the constructor was given both measures.</summary>
    public MemoryAccounting? Accounting { get; }

    /// <summary>How long unused memory is kept.</summary>
    public TimeSpan IdleRelease { get; }

    /// <summary>Bytes held, in use or kept for the next job.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reservedBytes);

    /// <summary>At least <paramref name="length"/> doubles, contents unspecified; dispose the lease to give them back.</summary>
    /// <exception cref="WorkingMemoryUnavailableException">Fresh memory is needed and the process has no room for it.</exception>
    public Lease Rent(long length)
    {
        var bytes = checked((nuint)(length * sizeof(double)));
        lock (_free)
        {
            // The smallest kept block that is large enough.
            var best = -1;
            for (var i = 0; i < _free.Count; i++)
            {
                if (_free[i].Bytes >= bytes && (best < 0 || _free[i].Bytes < _free[best].Bytes)) best = i;
            }
            if (best >= 0)
            {
                var block = _free[best];
                _free.RemoveAt(best);
                Interlocked.Add(ref _inUseBytes, (long)block.Bytes);
                return new Lease(this, block);
            }
        }
        // Blocks kept for reuse are in use as far as the kernel is concerned: give them back before refusing. Blocks
        // handed out may not have been touched yet, so they count in full on top of the memory in use.
        if (!HasRoomFor(bytes, out _, out _))
        {
            ReleaseIdle();
            if (!HasRoomFor(bytes, out var used, out var limit))
            {
                throw new WorkingMemoryUnavailableException((long)bytes, limit, used);
            }
        }
        var fresh = Block.Allocate(bytes);
        Interlocked.Add(ref _reservedBytes, (long)fresh.Bytes);
        Interlocked.Add(ref _inUseBytes, (long)fresh.Bytes);
        return new Lease(this, fresh);
    }

    private bool HasRoomFor(nuint bytes, out long used, out long limit)
    {
        used = _usedBytes() + Interlocked.Read(ref _inUseBytes);
        limit = _budgetBytes();
        return used + (long)bytes <= limit;
    }

    private void Return(Block block)
    {
        Interlocked.Add(ref _inUseBytes, -(long)block.Bytes);
        lock (_free)
        {
            _free.Add(block);
        }
        _release.Change(IdleRelease, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Frees every block no job holds (the timer calls it once the memory has been idle long enough).</summary>
    public void ReleaseIdle()
    {
        Block[] idle;
        lock (_free)
        {
            idle = [.. _free];
            _free.Clear();
        }
        foreach (var block in idle)
        {
            block.Free();
            Interlocked.Add(ref _reservedBytes, -(long)block.Bytes);
        }
    }

    public void Dispose()
    {
        _release.Dispose();
        ReleaseIdle();
    }

    /// <summary>A rented block; its memory is valid until the lease is disposed.</summary>
    public readonly struct Lease(ScratchMemory owner, Block block) : IDisposable
    {
        /// <summary><paramref name="length"/> doubles starting <paramref name="start"/> doubles into the block.</summary>
        public unsafe Span<double> Slice(long start, int length)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((nuint)((start + length) * sizeof(double)), block.Bytes);
            return new Span<double>((double*)block.Address + start, length);
        }

        public void Dispose() => owner.Return(block);
    }

    /// <summary>Anonymous memory mapped for one block (on Linux; elsewhere the C runtime's allocator).</summary>
    public sealed unsafe partial class Block
    {
        private Block(nint address, nuint bytes)
        {
            Address = address;
            Bytes = bytes;
        }

        public nint Address { get; }

        public nuint Bytes { get; }

        internal static Block Allocate(nuint bytes)
        {
            if (!OperatingSystem.IsLinux())
            {
                return new Block((nint)NativeMemory.AlignedAlloc(bytes, 64), bytes);
            }
            var address = Mmap(0, bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (address == -1)
            {
                throw new OutOfMemoryException($"cannot map {bytes} bytes of scratch memory (errno {Marshal.GetLastPInvokeError()})");
            }
            return new Block(address, bytes);
        }

        internal void Free()
        {
            if (OperatingSystem.IsLinux())
            {
                _ = Munmap(Address, Bytes);
            }
            else
            {
                NativeMemory.AlignedFree((void*)Address);
            }
        }

        private const int ProtRead = 0x1, ProtWrite = 0x2, MapPrivate = 0x02, MapAnonymous = 0x20;

        [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
        private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

        [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
        private static partial int Munmap(nint address, nuint length);
    }
}

/// <summary>A kernel needed more working memory than the process has room for within its memory budget.</summary>
public sealed class WorkingMemoryUnavailableException(long requiredBytes, long limitBytes, long usedBytes)
    : Exception($"{requiredBytes} bytes of working memory needed; {usedBytes} of the process's {limitBytes} bytes are in use.")
{
    /// <summary>The memory asked for.</summary>
    public long RequiredBytes { get; } = requiredBytes;

    /// <summary>The most the process may fill (in a container, <see cref="MemoryAccounting.BudgetFraction"/> of its memory limit).</summary>
    public long LimitBytes { get; } = limitBytes;

    /// <summary>What was in use when it asked (<see cref="MemoryAccounting.UsedBytes"/>), and working memory handed out and not yet touched.</summary>
    public long UsedBytes { get; } = usedBytes;
}
