using System.Text;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// Read-only bind mounts of the app model as ConfigMaps: the same files locally and in the cluster. They are written
/// as kustomize generators, so each ConfigMap's name carries a hash of its content and a changed file (or an
/// overlay's patch of it) changes the pod template that mounts it: pods roll as they would for a new image.
/// </summary>
internal static class ConfigMaps
{
    public sealed record Mounted(V1ConfigMap ConfigMap, string MountPath, string? SubPath);

    /// <summary>
    /// Each read-only bind mount becomes ConfigMaps with the same content: a file mount one ConfigMap mounted by
    /// subPath, a folder one ConfigMap per folder level (ConfigMap keys cannot hold '/').
    /// </summary>
    public static List<Mounted> Of(IResource resource, string ns, Dictionary<string, string> labels)
    {
        var result = new List<Mounted>();
        foreach (var mount in resource.Annotations.OfType<ContainerMountAnnotation>())
        {
            if (mount.Type != ContainerMountType.BindMount || mount.Source is null)
            {
                throw new InvalidOperationException($"'{resource.Name}' mounts a volume ({mount.Target}); only read-only bind mounts of files are published.");
            }
            if (File.Exists(mount.Source))
            {
                var fileName = Path.GetFileName(mount.Source);
                var stem = Slug(Path.GetFileNameWithoutExtension(mount.Source));
                var name = stem == resource.Name ? $"{resource.Name}-config" : $"{resource.Name}-{stem}";
                result.Add(new(ConfigMap(name, ns, labels, [mount.Source]), mount.Target, fileName));
                continue;
            }
            if (!Directory.Exists(mount.Source))
            {
                throw new InvalidOperationException($"'{resource.Name}' mounts {mount.Source}, which does not exist.");
            }
            foreach (var directory in new[] { mount.Source }.Concat(Directory.GetDirectories(mount.Source, "*", SearchOption.AllDirectories)).Order(StringComparer.Ordinal))
            {
                var filesHere = Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToList();
                if (filesHere.Count == 0) continue;
                var relative = Path.GetRelativePath(mount.Source, directory);
                var suffix = relative == "." ? "" : "-" + Slug(relative);
                var name = $"{resource.Name}-{Slug(Path.GetFileName(mount.Source))}{suffix}";
                var target = relative == "." ? mount.Target : $"{mount.Target}/{relative.Replace(Path.DirectorySeparatorChar, '/')}";
                result.Add(new(ConfigMap(name, ns, labels, filesHere), target, null));
            }
        }
        return result;
    }

    private static V1ConfigMap ConfigMap(string name, string ns, Dictionary<string, string> labels, IEnumerable<string> files) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Data = files.ToDictionary(f => Path.GetFileName(f), f => File.ReadAllText(f).ReplaceLineEndings("\n")),
    };

    /// <summary>A name that Kubernetes accepts, made from a file or folder name.</summary>
    public static string Slug(string value)
    {
        var slug = new StringBuilder();
        foreach (var c in value.ToLowerInvariant())
        {
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }
        return slug.ToString().Trim('-');
    }
}
