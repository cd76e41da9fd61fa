package hdfs

import (
	"fmt"

	"github.com/spindle-yarn/spindle/internal/siteconf"
)

// LoadConfig reads the Hadoop client configuration in dir (core-site.xml,
// hdfs-site.xml, and yarn-site.xml for the token renewer), or in
// $HADOOP_CONF_DIR when dir is empty, and builds a Config from it with
// ConfigFromHadoopConf.
//
// A directory that is not set, missing, or holds no site file gives an
// error matching ErrConfig that names HADOOP_CONF_DIR (when it came from
// there) and the path. Under Kerberos, set Kerberos.Client on the result
// before use, as with ConfigFromHadoopConf.
func LoadConfig(dir string) (Config, error) {
	conf, err := siteconf.Load(dir)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ConfigFromHadoopConf(conf)
}
