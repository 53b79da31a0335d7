using System.Globalization;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// The memory that decides whether this process is killed, measured the way the kernel and the kubelet measure it.
/// In a container (or any cgroup with a memory limit) the OOM killer acts on what the kernel charges the cgroup, not
/// on the process's resident set: a page of file cache is charged to the cgroup that first read it (the executable's
/// pages may be another container's of the same image), and the inactive part of the cache charged is reclaimed
/// before anything is killed. So where the process's cgroup has a limit, usage is the
/// cgroup's working set (charged memory less inactive file cache, as the kubelet computes it: cgroup v2
/// <c>memory.current</c> - <c>inactive_file</c>, v1 <c>memory.usage_in_bytes</c> - <c>total_inactive_file</c>) and
/// the limit is the one the OOM killer enforces (v2 <c>memory.max</c>, v1 <c>memory.limit_in_bytes</c> or the
/// ancestors' <c>hierarchical_memory_limit</c>). Without a limit, the process's resident memory counts against the
/// memory the runtime sees (the machine's physical memory).
/// </summary>
/// <remarks>
/// Microsoft.Extensions.Diagnostics.ResourceMonitoring reads the same files for the service's gauges, but its readers
/// are internal and take fixed paths; this one locates the process's own cgroup from <c>/proc/self/cgroup</c> and
/// <c>/proc/self/mountinfo</c> (as the .NET runtime does), so it also holds on a host, in a systemd unit, and under a
/// root directory of test files.
/// </remarks>
public sealed class MemoryAccounting
{
    /// <summary>
    /// The share of the limit work may fill: the GC's own default for its heap in a container. The rest is room for
    /// what is allocated between two checks (GC heap growth, thread stacks, socket buffers) and for file cache the
    /// kernel must first reclaim.
    /// </summary>
    public const double BudgetFraction = 0.75;

    private readonly string? _usageFile;
    private readonly string? _statFile;
    private readonly string _inactiveFileKey;

    private MemoryAccounting(string source, long limitBytes, string? usageFile, string? statFile, string inactiveFileKey)
    {
        Source = source;
        LimitBytes = limitBytes;
        _usageFile = usageFile;
        _statFile = statFile;
        _inactiveFileKey = inactiveFileKey;
    }

    /// <summary>What is measured, for the start-up log: "cgroup v2 (/sys/fs/cgroup)", or "process (no memory limit)".</summary>
    public string Source { get; }

    /// <summary>The limit usage is measured against: the cgroup's, or the memory the runtime sees.</summary>
    public long LimitBytes { get; }

    /// <summary>The most that jobs may fill: <see cref="BudgetFraction"/> of <see cref="LimitBytes"/>.</summary>
    public long BudgetBytes => (long)(LimitBytes * BudgetFraction);

    /// <summary>Whether usage is the cgroup's (true) or the process's resident memory (false).</summary>
    public bool IsCgroup => _usageFile is not null;

    /// <summary>Memory in use now: the cgroup's working set, or the process's resident memory.</summary>
    public long UsedBytes()
    {
        if (_usageFile is null) return Environment.WorkingSet;
        try
        {
            var usage = ReadNumber(_usageFile) ?? 0;
            var inactive = StatValue(_statFile!, _inactiveFileKey) ?? 0;
            return Math.Max(0, usage - inactive);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // The cgroup's files vanished or changed form: the process's own memory is the best measure left.
            return Environment.WorkingSet;
        }
    }

    /// <summary>The accounting of this process.</summary>
    public static MemoryAccounting ForThisProcess() => Detect("/", PhysicalMemoryBytes());

    /// <summary>
    /// The machine's memory (<c>MemTotal</c>; in a container /proc/meminfo still shows the host's). Not the GC's
    /// <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: in a container that is already the GC's share of the limit.
    /// </summary>
    private static long PhysicalMemoryBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                // "MemTotal:       24683748 kB"
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(9).TrimEnd(" kB").Trim(), CultureInfo.InvariantCulture, out var kib))
                {
                    return kib * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes; // not Linux
    }

    /// <summary>
    /// The accounting for the process whose <c>/proc/self</c> and cgroup file system are found under
    /// <paramref name="root"/>; <paramref name="physicalBytes"/> is the memory the runtime sees without a limit.
    /// Unreadable or missing files mean no cgroup limit.
    /// </summary>
    public static MemoryAccounting Detect(string root, long physicalBytes)
    {
        var process = new MemoryAccounting("process (no memory limit)", physicalBytes, null, null, "");
        try
        {
            return FromCgroup(root, physicalBytes) ?? process;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return process;
        }
    }

    private static MemoryAccounting? FromCgroup(string root, long physicalBytes)
    {
        var memberships = File.ReadAllLines(Under(root, "/proc/self/cgroup"));
        var mounts = File.ReadAllLines(Under(root, "/proc/self/mountinfo"));

        // A host may mount both versions (hybrid): the memory controller is in v1 where a v1 hierarchy has it.
        if (Membership(memberships, c => c.Split(',').Contains("memory")) is { } v1Path
            && Mount(mounts, (type, options) => type == "cgroup" && options.Split(',').Contains("memory")) is { } v1Mount)
        {
            var directory = Under(root, CgroupDirectory(v1Mount, v1Path));
            var stat = Path.Combine(directory, "memory.stat");
            // v1 writes "no limit" as the largest page-aligned 64-bit number: a limit at or above the machine's memory
            // limits nothing.
            long? limit = Min(ReadNumber(Path.Combine(directory, "memory.limit_in_bytes")), StatValue(stat, "hierarchical_memory_limit"));
            return limit is { } l && l < physicalBytes
                ? new MemoryAccounting($"cgroup v1 ({CgroupDirectory(v1Mount, v1Path)})", l, Path.Combine(directory, "memory.usage_in_bytes"), stat, "total_inactive_file")
                : null;
        }
        if (Membership(memberships, c => c.Length == 0) is { } v2Path
            && Mount(mounts, (type, _) => type == "cgroup2") is { } v2Mount)
        {
            var directory = Under(root, CgroupDirectory(v2Mount, v2Path));
            var max = Path.Combine(directory, "memory.max");
            if (!File.Exists(max)) return null; // the memory controller is not enabled for this cgroup
            var text = File.ReadAllText(max).Trim();
            return text != "max" && long.Parse(text, CultureInfo.InvariantCulture) is var l && l < physicalBytes
                ? new MemoryAccounting($"cgroup v2 ({CgroupDirectory(v2Mount, v2Path)})", l, Path.Combine(directory, "memory.current"), Path.Combine(directory, "memory.stat"), "inactive_file")
                : null;
        }
        return null;
    }

    /// <summary>The cgroup path of the first <c>id:controllers:path</c> line whose controllers match.</summary>
    private static string? Membership(string[] lines, Func<string, bool> controllers) =>
        lines.Select(line => line.Split(':', 3))
            .Where(parts => parts.Length == 3 && controllers(parts[1]))
            .Select(parts => parts[2])
            .FirstOrDefault();

    /// <summary>(root of the mounted hierarchy, mount point) of the first mountinfo line whose type and options match.</summary>
    private static (string Root, string MountPoint)? Mount(string[] lines, Func<string, string, bool> matches)
    {
        foreach (var line in lines)
        {
            // "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory"
            var separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0) continue;
            var fields = line[..separator].Split(' ');
            var tail = line[(separator + 3)..].Split(' ');
            if (fields.Length >= 5 && tail.Length >= 3 && matches(tail[0], tail[2])) return (fields[3], fields[4]);
        }
        return null;
    }

    /// <summary>
    /// Where the cgroup's files are: the mount point plus the cgroup's path below the mounted root. In a container the
    /// root mounted is the container's own cgroup, so the path is usually the root itself.
    /// </summary>
    private static string CgroupDirectory((string Root, string MountPoint) mount, string path)
    {
        var relative = mount.Root == "/" ? path
            : path.StartsWith(mount.Root, StringComparison.Ordinal) ? path[mount.Root.Length..]
            : "";
        return relative.Trim('/') is { Length: > 0 } below ? $"{mount.MountPoint.TrimEnd('/')}/{below}" : mount.MountPoint;
    }

    private static string Under(string root, string path) => root == "/" ? path : Path.Join(root, path);

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private static long? ReadNumber(string path)
    {
        if (!File.Exists(path)) return null;
        // Values past long.MaxValue do not occur (v1's "no limit" is 2^63 less a page), but parse as unsigned to be safe.
        var value = ulong.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
        return (long)Math.Min(value, long.MaxValue);
    }

    private static long? StatValue(string path, string key)
    {
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length > key.Length && line[key.Length] == ' ' && line.StartsWith(key, StringComparison.Ordinal))
            {
                var value = ulong.Parse(line.AsSpan(key.Length + 1).Trim(), CultureInfo.InvariantCulture);
                return (long)Math.Min(value, long.MaxValue);
            }
        }
        return null;
    }
}
