using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

/// <summary>
/// The memory accounting read from files laid out as Linux shows them (<c>/proc/self/cgroup</c>,
/// <c>/proc/self/mountinfo</c>, the cgroup's own files) under a temporary root: cgroup v2 as on most Kubernetes
/// nodes, v1 as on older Docker engines, hosts with both, and files that are missing or malformed.
/// </summary>
public sealed class MemoryAccountingTests : IDisposable
{
    private const long MiB = 1 << 20;
    private const long Physical = 16L << 30;
    private readonly string _root = Directory.CreateTempSubdirectory("cloudapp-cgroup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void ReadsTheWorkingSetAndLimitOfACgroupV2Container()
    {
        Proc("0::/\n", "1290 1280 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n");
        Files("/sys/fs/cgroup", ("memory.max", $"{96 * MiB}\n"), ("memory.current", $"{50 * MiB}\n"),
            ("memory.stat", $"anon {30 * MiB}\nfile {20 * MiB}\nactive_file {10 * MiB}\ninactive_file {10 * MiB}\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.True(accounting.IsCgroup);
        Assert.StartsWith("cgroup v2", accounting.Source, StringComparison.Ordinal);
        Assert.Equal(96 * MiB, accounting.LimitBytes);
        Assert.Equal(72 * MiB, accounting.BudgetBytes);
        Assert.Equal(40 * MiB, accounting.UsedBytes()); // memory.current less inactive_file
    }

    [Fact]
    public void FindsTheCgroupV2DirectoryOfAServiceOnAHost()
    {
        Proc("0::/system.slice/computeapi.service\n", "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw\n");
        Files("/sys/fs/cgroup", ("memory.max", "max\n"));
        Files("/sys/fs/cgroup/system.slice/computeapi.service", ("memory.max", $"{512 * MiB}\n"), ("memory.current", $"{100 * MiB}\n"),
            ("memory.stat", "inactive_file 0\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.Equal(512 * MiB, accounting.LimitBytes);
        Assert.Equal(100 * MiB, accounting.UsedBytes());
        Assert.Contains("/sys/fs/cgroup/system.slice/computeapi.service", accounting.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void ACgroupV2WithoutALimitCountsTheProcessAgainstPhysicalMemory()
    {
        Proc("0::/\n", "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        Files("/sys/fs/cgroup", ("memory.max", "max\n"), ("memory.current", $"{50 * MiB}\n"), ("memory.stat", "inactive_file 0\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.False(accounting.IsCgroup);
        Assert.Equal(Physical, accounting.LimitBytes);
        Assert.Equal(Environment.WorkingSet, accounting.UsedBytes(), tolerance: 64 * MiB);
    }

    [Fact]
    public void ReadsTheWorkingSetAndLimitOfACgroupV1Container()
    {
        // Docker on cgroup v1 mounts the container's own cgroup as the hierarchy's root.
        Proc("12:memory:/docker/4b74d0\n11:cpu,cpuacct:/docker/4b74d0\n0::/\n",
            "34 30 0:31 /docker/4b74d0 /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory\n");
        Files("/sys/fs/cgroup/memory", ("memory.limit_in_bytes", $"{64 * MiB}\n"), ("memory.usage_in_bytes", $"{30 * MiB}\n"),
            ("memory.stat", $"cache {4 * MiB}\ninactive_file {1 * MiB}\nhierarchical_memory_limit {64 * MiB}\ntotal_inactive_file {2 * MiB}\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.True(accounting.IsCgroup);
        Assert.StartsWith("cgroup v1", accounting.Source, StringComparison.Ordinal);
        Assert.Equal(64 * MiB, accounting.LimitBytes);
        Assert.Equal(48 * MiB, accounting.BudgetBytes);
        Assert.Equal(28 * MiB, accounting.UsedBytes()); // usage less total_inactive_file, as the kubelet computes it
    }

    [Fact]
    public void ACgroupV1LimitSetOnAnAncestorCounts()
    {
        Proc("4:memory:/kubepods/pod1/c1\n", "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        Files("/sys/fs/cgroup/memory/kubepods/pod1/c1", ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.usage_in_bytes", $"{10 * MiB}\n"), ("memory.stat", $"hierarchical_memory_limit {128 * MiB}\ntotal_inactive_file 0\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.Equal(128 * MiB, accounting.LimitBytes);
        Assert.Equal(10 * MiB, accounting.UsedBytes());
    }

    [Fact]
    public void ACgroupV1WithoutALimitCountsTheProcessAgainstPhysicalMemory()
    {
        Proc("4:memory:/\n", "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        Files("/sys/fs/cgroup/memory", ("memory.limit_in_bytes", "9223372036854771712\n"), ("memory.usage_in_bytes", $"{3000 * MiB}\n"),
            ("memory.stat", "hierarchical_memory_limit 9223372036854771712\ntotal_inactive_file 0\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.False(accounting.IsCgroup);
        Assert.Equal(Physical, accounting.LimitBytes);
    }

    [Fact]
    public void OnAHostWithBothVersionsTheMemoryControllerOfV1Counts()
    {
        Proc("4:memory:/\n1:cpu:/\n0::/\n",
            "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
        Files("/sys/fs/cgroup/memory", ("memory.limit_in_bytes", $"{256 * MiB}\n"), ("memory.usage_in_bytes", $"{10 * MiB}\n"),
            ("memory.stat", "total_inactive_file 0\n"));
        Files("/sys/fs/cgroup/unified", ("memory.max", $"{32 * MiB}\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.StartsWith("cgroup v1", accounting.Source, StringComparison.Ordinal);
        Assert.Equal(256 * MiB, accounting.LimitBytes);
    }

    [Fact]
    public void FileCacheBeyondTheChargeCountsAsNothingInUse()
    {
        Proc("0::/\n", "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        Files("/sys/fs/cgroup", ("memory.max", $"{96 * MiB}\n"), ("memory.current", $"{5 * MiB}\n"), ("memory.stat", $"inactive_file {6 * MiB}\n"));

        Assert.Equal(0, MemoryAccounting.Detect(_root, Physical).UsedBytes());
    }

    [Theory]
    [InlineData("no files at all")]
    [InlineData("no cgroup mount")]
    [InlineData("a limit that is not a number")]
    [InlineData("the memory controller not enabled")]
    public void UnreadableOrMissingCgroupFilesMeanTheProcessAgainstPhysicalMemory(string situation)
    {
        switch (situation)
        {
            case "no cgroup mount":
                Proc("0::/\n", "22 1 8:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
                break;
            case "a limit that is not a number":
                Proc("0::/\n", "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
                Files("/sys/fs/cgroup", ("memory.max", "lots\n"));
                break;
            case "the memory controller not enabled":
                Proc("0::/\n", "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
                Files("/sys/fs/cgroup", ("cgroup.controllers", "cpu io pids\n"));
                break;
        }

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.False(accounting.IsCgroup);
        Assert.Equal("process (no memory limit)", accounting.Source);
        Assert.Equal(Physical, accounting.LimitBytes);
        Assert.True(accounting.UsedBytes() > 0);
    }

    [Fact]
    public void UsageThatCannotBeReadFallsBackToTheProcess()
    {
        Proc("0::/\n", "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        Files("/sys/fs/cgroup", ("memory.max", $"{96 * MiB}\n"), ("memory.current", "not a number\n"), ("memory.stat", "inactive_file 0\n"));

        var accounting = MemoryAccounting.Detect(_root, Physical);

        Assert.True(accounting.IsCgroup);
        Assert.True(accounting.UsedBytes() > 0);
    }

    [Fact]
    public void ALimitSmallerThanTheProcessRefusesEveryFreshBlockAndStillServesKeptOnes()
    {
        Proc("0::/\n", "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        Files("/sys/fs/cgroup", ("memory.max", $"{16 * MiB}\n"), ("memory.current", $"{40 * MiB}\n"), ("memory.stat", "inactive_file 0\n"));
        var accounting = MemoryAccounting.Detect(_root, Physical);
        using var scratch = new ScratchMemory(TimeSpan.FromMinutes(1), () => accounting.BudgetBytes, accounting.UsedBytes);

        var refused = Assert.Throws<WorkingMemoryUnavailableException>(() => scratch.Rent(1024));

        Assert.Equal(12 * MiB, refused.LimitBytes);
        Assert.Equal(40 * MiB, refused.UsedBytes);
    }

    [Fact]
    public void ThisProcessHasAnAccountingWithALimitAndMemoryInUse()
    {
        var accounting = MemoryAccounting.ForThisProcess();

        Assert.True(accounting.LimitBytes > 0);
        Assert.True(accounting.UsedBytes() > 0);
        Assert.InRange(accounting.BudgetBytes, 1, accounting.LimitBytes);
    }

    private void Proc(string cgroup, string mountinfo) =>
        Files("/proc/self", ("cgroup", cgroup), ("mountinfo", mountinfo));

    private void Files(string directory, params (string Name, string Content)[] files)
    {
        var path = Path.Join(_root, directory);
        Directory.CreateDirectory(path);
        foreach (var (name, content) in files) File.WriteAllText(Path.Combine(path, name), content);
    }
}
